/// One node's parameters, fetched by role with the exact shape its attributes and input imply.
/// Like `NodeAttributes`, it remembers which roles were asked for so `finish()` can reject the rest.
struct NodeWeights {
    let node: NodeSpec
    private let supply: WeightSupply
    private var used: Set<String> = []

    init(node: NodeSpec, supply: WeightSupply) {
        self.node = node
        self.supply = supply
    }

    /// The tensor name a role refers to: from the node's `weights` map, or `<node>.<role>` when synthetic.
    private func tensorName(_ role: String) -> String? {
        node.weights[role] ?? (supply.isSynthetic ? "\(node.name).\(role)" : nil)
    }

    /// The stored shape for a role, before its expected shape is known (file only).
    func storedShape(_ role: String) -> [Int]? {
        tensorName(role).flatMap { supply.storedShape($0) }
    }

    /// Synthetic tensors beyond this many elements (4 GiB of FP32) are refused rather than allocated.
    static let maximumSyntheticElements = 1 << 30

    private func generate(_ role: String, shape: [Int], _ initializer: WeightInit) throws(ModelError) -> Tensor {
        guard let count = checkedElementCount(shape), count <= Self.maximumSyntheticElements else {
            throw .shape(node: node.name, message: "\(role) of shape \(formatShape(shape)) is too large to generate")
        }
        return try supply.draw(shape: shape, initializer, name: "\(node.name).\(role)", node: node.name, role: role)
    }

    mutating func required(_ role: String, shape: [Int], _ initializer: WeightInit) throws(ModelError) -> Tensor {
        used.insert(role)
        if supply.isSynthetic { return try generate(role, shape: shape, initializer) }
        guard let name = node.weights[role] else { throw .missingWeightRole(node: node.name, role: role) }
        return try fetch(role: role, name: name, shape: shape)
    }

    /// Present when the node maps the role; with synthetic weights, present unless the node lists
    /// its roles and leaves this one out.
    mutating func optional(_ role: String, shape: [Int], _ initializer: WeightInit) throws(ModelError) -> Tensor? {
        used.insert(role)
        if supply.isSynthetic {
            guard node.weights.isEmpty || node.weights[role] != nil else { return nil }
            return try generate(role, shape: shape, initializer)
        }
        guard let name = node.weights[role] else { return nil }
        return try fetch(role: role, name: name, shape: shape)
    }

    private func fetch(role: String, name: String, shape: [Int]) throws(ModelError) -> Tensor {
        guard let tensor = supply.stored(name) else { throw .missingTensor(node: node.name, role: role, tensor: name) }
        guard tensor.shape == shape else {
            throw .tensorShape(node: node.name, role: role, tensor: name, expected: shape, actual: tensor.shape)
        }
        // A NaN or infinity in a parameter poisons every output: most likely a corrupted or badly exported file.
        if let index = tensor.data.firstIndex(where: { !$0.isFinite }) {
            throw .nonFiniteWeight(node: node.name, role: role, tensor: name, index: index)
        }
        return tensor
    }

    func finish() throws(ModelError) {
        if let extra = node.weights.keys.filter({ !used.contains($0) }).sorted().first {
            throw .unknownWeightRole(node: node.name, op: node.op, role: extra)
        }
    }
}
