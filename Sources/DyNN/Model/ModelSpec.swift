import Foundation

/// The contents of `model.json` (docs/model-format.md), decoded strictly: unknown keys at any level
/// are errors that name the key and where it was found.
public struct ModelSpec: Sendable, Codable, Equatable {
    public static let supportedFormatVersion = 1

    public var formatVersion: Int
    public var name: String
    public var version: String
    public var description: String?
    public var inputs: [TensorSpec]
    public var outputs: [TensorSpec]
    /// Class names along the first output's class axis.
    public var labels: [String]?
    /// Default softmax temperature of every dynamic convolution.
    public var temperature: Float
    public var weights: WeightsSource
    /// In topological order.
    public var nodes: [NodeSpec]

    public init(name: String, version: String = "1", description: String? = nil, inputs: [TensorSpec], outputs: [TensorSpec],
                labels: [String]? = nil, temperature: Float = 1, weights: WeightsSource, nodes: [NodeSpec]) {
        self.formatVersion = Self.supportedFormatVersion
        self.name = name
        self.version = version
        self.description = description
        self.inputs = inputs
        self.outputs = outputs
        self.labels = labels
        self.temperature = temperature
        self.weights = weights
        self.nodes = nodes
    }

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case formatVersion = "format_version"
        case name, version, description, inputs, outputs, labels, temperature, weights, nodes
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        // The version first: a future format should say so rather than fail on its new keys.
        formatVersion = try container.decode(Int.self, forKey: .formatVersion)
        guard formatVersion == Self.supportedFormatVersion else { throw ModelError.unsupportedFormatVersion(formatVersion) }
        try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue), context: "model.json")
        name = try container.decode(String.self, forKey: .name)
        version = try container.decode(String.self, forKey: .version)
        description = try container.decodeIfPresent(String.self, forKey: .description)
        inputs = try container.decode([TensorSpec].self, forKey: .inputs)
        outputs = try container.decode([TensorSpec].self, forKey: .outputs)
        labels = try container.decodeIfPresent([String].self, forKey: .labels)
        temperature = try container.decodeIfPresent(Float.self, forKey: .temperature) ?? 1
        weights = try container.decode(WeightsSource.self, forKey: .weights)
        nodes = try container.decode([NodeSpec].self, forKey: .nodes)
    }

    /// Decodes `model.json` bytes; JSON and type errors become `ModelError.invalidJSON` with the JSON path.
    public static func decode(_ bytes: [UInt8], file: String = "model.json") throws(ModelError) -> ModelSpec {
        do {
            return try JSONDecoder().decode(ModelSpec.self, from: Data(bytes))
        } catch let error as ModelError {
            throw error
        } catch let error as DecodingError {
            // Foundation reports a number that does not fit its Swift type (a negative or huge
            // seed, say) as unreadable data at the document root; say what it really is.
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty,
               (try? JSONSerialization.jsonObject(with: Data(bytes))) != nil {
                throw .invalidJSON(file: file, reason: "the JSON is well-formed but a number does not fit its field "
                    + "(integers such as format_version, sizes and weights.synthetic.seed must be whole and in range; "
                    + "a seed is 0...\(UInt64.max))")
            }
            throw .invalidJSON(file: file, reason: describe(error))
        } catch {
            throw .invalidJSON(file: file, reason: "\(error)")
        }
    }

    /// Encodes as `model.json` (sorted keys, so files diff cleanly).
    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Only strings, numbers and arrays: encoding cannot fail, except for a non-finite temperature.
        return (try? encoder.encode(self)).map { [UInt8]($0) } ?? []
    }
}
