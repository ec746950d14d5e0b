/// One node of the graph as written in `model.json`. Attributes stay untyped JSON here; each op
/// reads and checks its own when the model is loaded (see `NodeAttributes`).
public struct NodeSpec: Sendable, Codable, Equatable {
    /// Also the name of the node's output value.
    public var name: String
    public var op: String
    public var inputs: [String]
    public var attrs: [String: JSONValue]
    /// Role (`weight`, `bias`, `fc1_weight`, ...) -> tensor name in the weights file.
    public var weights: [String: String]

    public init(name: String, op: String, inputs: [String], attrs: [String: JSONValue] = [:], weights: [String: String] = [:]) {
        self.name = name
        self.op = op
        self.inputs = inputs
        self.attrs = attrs
        self.weights = weights
    }

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case name, op, inputs, attrs, weights
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue), context: "node \"\(name)\"")
        op = try container.decode(String.self, forKey: .op)
        inputs = try container.decode([String].self, forKey: .inputs)
        attrs = try container.decodeIfPresent([String: JSONValue].self, forKey: .attrs) ?? [:]
        weights = try container.decodeIfPresent([String: String].self, forKey: .weights) ?? [:]
    }
}
