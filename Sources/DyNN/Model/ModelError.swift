/// Why a model directory cannot be loaded. Every case names what to fix: the file, node, tensor or
/// key, with the expected and actual value where there is one.
public enum ModelError: Error, Sendable, Equatable, CustomStringConvertible {
    case notFound(name: String, path: String)
    case unreadable(path: String, reason: String)
    /// `model.json` is not JSON, or a field has the wrong JSON type.
    case invalidJSON(file: String, reason: String)
    case unsupportedFormatVersion(Int)
    /// A key the format does not define; `context` says where (`model.json`, `node "conv1"`, ...).
    case unknownKey(key: String, context: String)
    /// A field whose value is out of its domain.
    case invalidField(field: String, context: String, expected: String, actual: String)
    case duplicateName(String)
    case undefinedInput(node: String, input: String)
    case unknownOp(node: String, op: String)
    case wrongArity(node: String, op: String, expected: Int, actual: Int)
    case unknownAttribute(node: String, op: String, attribute: String)
    case missingAttribute(node: String, op: String, attribute: String)
    case invalidAttribute(node: String, attribute: String, expected: String, actual: String)
    /// An attribute the op defines but not in this form, e.g. `routing` on a 2-input `dynamic_conv2d`.
    case attributeNotAllowed(node: String, attribute: String, reason: String)
    /// The node's op rejects its input shapes (wraps the op's `ShapeError`).
    case shape(node: String, message: String)
    case unknownWeightRole(node: String, op: String, role: String)
    case missingWeightRole(node: String, role: String)
    case missingTensor(node: String, role: String, tensor: String)
    case tensorShape(node: String, role: String, tensor: String, expected: [Int], actual: [Int])
    case nonFiniteWeight(node: String, role: String, tensor: String, index: Int)
    /// Two roles of one node disagree, e.g. a hidden size read from `fc1_weight` against `fc2_weight`.
    case inconsistentWeights(node: String, reason: String)
    case unsupportedDatatype(tensor: String, datatype: String)
    case unknownOutputNode(output: String, node: String)
    case outputShape(output: String, expected: [Int], actual: [Int])
    /// The weights file is truncated, corrupted or in an unsupported dtype.
    case weightsFile(path: String, error: SafeTensorsError)
    /// A synthetic model's `replace` file holds a tensor that no node draws (a typo or a stale file).
    case unusedReplacement(path: String, tensor: String)

    public var description: String {
        switch self {
        case .notFound(let name, let path):
            return "model \"\(name)\" not found: no model.json in \(path)"
        case .unreadable(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .invalidJSON(let file, let reason):
            return "\(file): \(reason)"
        case .unsupportedFormatVersion(let version):
            return "model.json format_version \(version) is not supported (expected 1)"
        case .unknownKey(let key, let context):
            return "unknown key \"\(key)\" in \(context)"
        case .invalidField(let field, let context, let expected, let actual):
            return "\(context): \"\(field)\" must be \(expected), got \(actual)"
        case .duplicateName(let name):
            return "name \"\(name)\" is defined more than once (graph inputs and nodes share one namespace)"
        case .undefinedInput(let node, let input):
            return "node \"\(node)\" uses \"\(input)\" which is not defined before it"
        case .unknownOp(let node, let op):
            return "node \"\(node)\": unknown op \"\(op)\""
        case .wrongArity(let node, let op, let expected, let actual):
            return "node \"\(node)\": \(op) takes \(expected) input\(expected == 1 ? "" : "s"), got \(actual)"
        case .unknownAttribute(let node, let op, let attribute):
            return "node \"\(node)\": unknown attribute \"\(attribute)\" for \(op)"
        case .missingAttribute(let node, let op, let attribute):
            return "node \"\(node)\": \(op) requires attribute \"\(attribute)\""
        case .invalidAttribute(let node, let attribute, let expected, let actual):
            return "node \"\(node)\": attribute \"\(attribute)\" must be \(expected), got \(actual)"
        case .attributeNotAllowed(let node, let attribute, let reason):
            return "node \"\(node)\": attribute \"\(attribute)\" is not allowed: \(reason)"
        case .shape(let node, let message):
            return "node \"\(node)\": \(message)"
        case .unknownWeightRole(let node, let op, let role):
            return "node \"\(node)\": \(op) has no weight role \"\(role)\""
        case .missingWeightRole(let node, let role):
            return "node \"\(node)\": weights has no \"\(role)\" entry"
        case .missingTensor(let node, let role, let tensor):
            return "node \"\(node)\": \(role) tensor \"\(tensor)\" is not in the weights file"
        case .tensorShape(let node, let role, let tensor, let expected, let actual):
            return "node \"\(node)\": \(role) tensor \"\(tensor)\" has shape \(formatShape(actual)), expected \(formatShape(expected))"
        case .nonFiniteWeight(let node, let role, let tensor, let index):
            return "node \"\(node)\": \(role) tensor \"\(tensor)\" holds a NaN or infinity at flat index \(index)"
        case .inconsistentWeights(let node, let reason):
            return "node \"\(node)\": \(reason)"
        case .unsupportedDatatype(let tensor, let datatype):
            return "tensor \"\(tensor)\": datatype \(datatype) is not supported (only FP32)"
        case .unknownOutputNode(let output, let node):
            return "output \"\(output)\" names \"\(node)\", which is neither a node nor an input"
        case .outputShape(let output, let expected, let actual):
            return "output \"\(output)\" is declared \(formatShape(expected)) but the graph produces \(formatShape(actual))"
        case .weightsFile(let path, let error):
            return "\(path): \(error)"
        case .unusedReplacement(let path, let tensor):
            return "\(path): tensor \"\(tensor)\" replaces nothing (no node draws a synthetic tensor of that name)"
        }
    }
}

/// `[-1,1,8,8]`: the compact shape rendering used in every message.
func formatShape(_ shape: [Int]) -> String {
    "[" + shape.map(String.init).joined(separator: ",") + "]"
}
