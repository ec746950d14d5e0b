import Foundation

/// How a synthetic weight is drawn (docs/model-format.md, "Weights").
enum WeightInit {
    /// Convolution, linear and FC weights: uniform in ±sqrt(6 / fanIn).
    case weight(fanIn: Int)
    /// Biases: uniform in ±1 / sqrt(fanIn).
    case bias(fanIn: Int)
    /// Uniform in [low, high) (batch norm statistics).
    case range(Double, Double)

    var bounds: (Double, Double) {
        switch self {
        case .weight(let fanIn):
            let limit = (6.0 / Double(max(fanIn, 1))).squareRoot()
            return (-limit, limit)
        case .bias(let fanIn):
            let limit = 1.0 / Double(max(fanIn, 1)).squareRoot()
            return (-limit, limit)
        case .range(let low, let high):
            return (low, high)
        }
    }
}

/// The source of every parameter while a model loads: a parsed safetensors file or a seeded
/// SplitMix64 stream that advances in node order, then role order. A class because the stream is
/// shared by all nodes in turn; it lives only during loading.
final class WeightSupply {
    enum Backing {
        case file(SafeTensors)
        case synthetic(SplitMix64)
    }

    private var backing: Backing
    /// Synthetic only: the `replace` file's tensors, which take the place of drawn ones of the same name.
    private let replacements: SafeTensors?
    private let replacementsPath: String?
    /// Names of the replacements used so far; `finish()` rejects a file naming a tensor no node has.
    private var replaced: Set<String> = []

    init(source: WeightsSource, directory: URL) throws(ModelError) {
        switch source {
        case .synthetic(let seed, let replace):
            backing = .synthetic(SplitMix64(seed: seed))
            if let replace {
                let url = try confinedFile(replace, in: directory)
                replacements = try Self.parse(url)
                replacementsPath = url.path
            } else {
                (replacements, replacementsPath) = (nil, nil)
            }
        case .file(let path):
            backing = .file(try Self.parse(try confinedFile(path, in: directory)))
            (replacements, replacementsPath) = (nil, nil)
        }
    }

    private static func parse(_ url: URL) throws(ModelError) -> SafeTensors {
        let bytes = try readFile(url)
        do {
            return try SafeTensors(bytes: bytes)
        } catch {
            throw .weightsFile(path: url.path, error: error)
        }
    }

    var isSynthetic: Bool {
        if case .synthetic = backing { return true }
        return false
    }

    /// The stored shape of a tensor (file only), for sizes read from the weights such as `hidden`.
    func storedShape(_ tensorName: String) -> [Int]? {
        guard case .file(let file) = backing else { return nil }
        return file.entries[tensorName]?.shape
    }

    func stored(_ tensorName: String) -> Tensor? {
        guard case .file(let file) = backing else { return nil }
        return file.tensor(named: tensorName)
    }

    /// The next synthetic tensor of `shape`, or the `replace` file's tensor `name` in its place (the
    /// stream advances either way), which must have `shape` and finite values.
    func draw(shape: [Int], _ initializer: WeightInit, name: String, node: String, role: String) throws(ModelError) -> Tensor {
        guard case .synthetic(var generator) = backing else { return Tensor(zeros: shape) }
        let (low, high) = initializer.bounds
        let count = shape.reduce(1, *)
        var values = [Float](repeating: 0, count: count)
        for index in 0..<count { values[index] = generator.uniform(low, high) }
        backing = .synthetic(generator)
        guard let replacements, replacements.entries[name] != nil else { return Tensor(shape: shape, data: values) }
        guard let tensor = replacements.tensor(named: name) else { throw .missingTensor(node: node, role: role, tensor: name) }
        guard tensor.shape == shape else {
            throw .tensorShape(node: node, role: role, tensor: name, expected: shape, actual: tensor.shape)
        }
        if let index = tensor.data.firstIndex(where: { !$0.isFinite }) {
            throw .nonFiniteWeight(node: node, role: role, tensor: name, index: index)
        }
        replaced.insert(name)
        return tensor
    }

    /// After every node: a `replace` file may only hold tensors that some node draws.
    func finish() throws(ModelError) {
        guard let replacements, let replacementsPath else { return }
        if let unused = replacements.entries.keys.filter({ !replaced.contains($0) }).sorted().first {
            throw .unusedReplacement(path: replacementsPath, tensor: unused)
        }
    }
}

/// The real path (symlinks resolved) of the regular file `path` names inside `directory`. The
/// format keeps weights inside the model directory: a path or symlink that leads out of it is
/// refused before anything is read, so no byte of an outside file reaches a message.
func confinedFile(_ path: String, in directory: URL) throws(ModelError) -> URL {
    let named = directory.appendingPathComponent(path).path
    guard let root = realPath(directory.path) else {
        throw .unreadable(path: directory.path, reason: "the model directory does not exist")
    }
    guard let real = realPath(named) else {
        throw .unreadable(path: named, reason: "no such file (weights.file is \"\(path)\", relative to the model directory)")
    }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: real, isDirectory: &isDirectory), !isDirectory.boolValue else {
        throw .unreadable(path: named, reason: "weights.file \"\(path)\" is a directory, not a safetensors file")
    }
    guard real.hasPrefix(root.hasSuffix("/") ? root : root + "/") else {
        throw .invalidField(field: "file", context: "weights", expected: "a file inside the model directory",
                            actual: "\"\(path)\", which resolves to a path outside it")
    }
    return URL(fileURLWithPath: real)
}

/// `realpath(3)`: the absolute path with every symlink, `.` and `..` resolved; nil if it does not exist.
private func realPath(_ path: String) -> String? {
    guard let resolved = realpath(path, nil) else { return nil }
    defer { free(resolved) }
    return String(cString: resolved)
}

/// Reads a whole file, turning failures into `ModelError.unreadable`.
func readFile(_ url: URL) throws(ModelError) -> [UInt8] {
    do {
        return [UInt8](try Data(contentsOf: url))
    } catch {
        throw .unreadable(path: url.path, reason: (error as NSError).localizedDescription)
    }
}
