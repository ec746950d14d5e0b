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
        shape = try container.decode([Int].self, forKey: .shape)
        node = try container.decodeIfPresent(String.self, forKey: .node)
    }

    /// The node (or input) whose value this output is.
    public var producer: String { node ?? name }
}
