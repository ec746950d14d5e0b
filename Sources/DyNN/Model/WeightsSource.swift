/// Where a model's parameters come from: `{"file": "weights.safetensors"}` or `{"synthetic": {"seed": 7}}`,
/// optionally `{"synthetic": {"seed": 7, "replace": "batch_norm.safetensors"}}`.
public enum WeightsSource: Sendable, Codable, Equatable {
    /// A safetensors file relative to the model directory.
    case file(String)
    /// Every weight drawn from a SplitMix64 stream (see docs/model-format.md), for benchmarks. `replace`: a
    /// safetensors file in the model directory whose tensors take the place of the drawn ones of the same
    /// name (the stream still draws them, so every other tensor is what it would be without the file).
    case synthetic(seed: UInt64, replace: String? = nil)

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case file, synthetic
    }

    private enum SyntheticKeys: String, CodingKey, CaseIterable {
        case seed, replace
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue), context: "weights")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch (container.contains(.file), container.contains(.synthetic)) {
        case (true, false):
            self = .file(try Self.insideDirectory(container.decode(String.self, forKey: .file), field: "file", context: "weights"))
        case (false, true):
            let nested = try container.superDecoder(forKey: .synthetic)
            try nested.rejectUnknownKeys(SyntheticKeys.allCases.map(\.rawValue), context: "weights.synthetic")
            let fields = try nested.container(keyedBy: SyntheticKeys.self)
            let seed = try fields.decode(UInt64.self, forKey: .seed)
            let replace = try fields.decodeIfPresent(String.self, forKey: .replace)
            self = .synthetic(seed: seed, replace: try replace.map { path throws in
                try Self.insideDirectory(path, field: "replace", context: "weights.synthetic")
            })
        default:
            throw ModelError.invalidField(field: "weights", context: "model.json", expected: "exactly one of \"file\" or \"synthetic\"",
                                          actual: "\(container.allKeys.map(\.stringValue).sorted())")
        }
    }

    /// `path`, checked to stay inside the model directory (no leading `/`, no `..`).
    private static func insideDirectory(_ path: String, field: String, context: String) throws -> String {
        let parts = path.split(separator: "/")
        guard !path.isEmpty, !path.hasPrefix("/"), !parts.contains("..") else {
            throw ModelError.invalidField(field: field, context: context, expected: "a path inside the model directory",
                                          actual: "\"\(path)\"")
        }
        return path
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .file(let path):
            try container.encode(path, forKey: .file)
        case .synthetic(let seed, let replace):
            var nested = container.nestedContainer(keyedBy: SyntheticKeys.self, forKey: .synthetic)
            try nested.encode(seed, forKey: .seed)
            try nested.encodeIfPresent(replace, forKey: .replace)
        }
    }
}
