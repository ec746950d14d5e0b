/// A tensor at the model boundary. `shape` uses -1 for the batch dimension (first dimension only).
public struct TensorSpec: Sendable, Codable, Equatable {
    public var name: String
    public var datatype: String
    public var shape: [Int]
    /// Outputs only: the node producing the value; nil means the node named `name`.
    public var node: String?

    public init(name: String, datatype: String = "FP32", shape: [Int], node: String? = nil) {
        self.name = name
        self.datatype = datatype
        self.shape = shape
        self.node = node
    }

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case name, datatype, shape, node
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue), context: "tensor \"\(name)\"")
        datatype = try container.decode(String.self, forKey: .datatype)
        // Decoded as JSON values so that a fractional or huge dimension gets a message naming the tensor.
        let dims = try container.decode([JSONValue].self, forKey: .shape)
        var sizes: [Int] = []
        for dim in dims {
            guard let size = dim.intValue else {
                throw ModelError.invalidField(field: "shape", context: "tensor \"\(name)\"", expected: "integers",
                                              actual: JSONValue.array(dims).brief)
            }
            sizes.append(size)
        }
        shape = sizes
        node = try container.decodeIfPresent(String.self, forKey: .node)
    }

    /// The node (or input) whose value this output is.
    public var producer: String { node ?? name }
}
