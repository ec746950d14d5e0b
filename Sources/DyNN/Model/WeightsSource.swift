/// Where a model's parameters come from: `{"file": "weights.safetensors"}` or `{"synthetic": {"seed": 7}}`.
public enum WeightsSource: Sendable, Codable, Equatable {
    /// A safetensors file relative to the model directory.
    case file(String)
    /// Every weight drawn from a SplitMix64 stream (see docs/model-format.md), for benchmarks.
    case synthetic(seed: UInt64)

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case file, synthetic
    }

    private enum SyntheticKeys: String, CodingKey, CaseIterable {
        case seed
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue), context: "weights")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch (container.contains(.file), container.contains(.synthetic)) {
        case (true, false):
            let path = try container.decode(String.self, forKey: .file)
            // The file must stay inside the model directory.
            let parts = path.split(separator: "/")
            guard !path.isEmpty, !path.hasPrefix("/"), !parts.contains("..") else {
                throw ModelError.invalidField(field: "file", context: "weights", expected: "a path inside the model directory",
                                              actual: "\"\(path)\"")
            }
            self = .file(path)
        case (false, true):
            let nested = try container.superDecoder(forKey: .synthetic)
            try nested.rejectUnknownKeys(SyntheticKeys.allCases.map(\.rawValue), context: "weights.synthetic")
            let seed = try nested.container(keyedBy: SyntheticKeys.self).decode(UInt64.self, forKey: .seed)
            self = .synthetic(seed: seed)
        default:
            throw ModelError.invalidField(field: "weights", context: "model.json", expected: "exactly one of \"file\" or \"synthetic\"",
                                          actual: "\(container.allKeys.map(\.stringValue).sorted())")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .file(let path):
            try container.encode(path, forKey: .file)
        case .synthetic(let seed):
            var nested = container.nestedContainer(keyedBy: SyntheticKeys.self, forKey: .synthetic)
            try nested.encode(seed, forKey: .seed)
        }
    }
}
