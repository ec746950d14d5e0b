import Foundation

/// Any JSON value, decoded without a schema. Used where the shape of the JSON depends on data
/// (safetensors headers, per-op `attrs`), so that the caller can check it strictly itself.
public enum JSONValue: Sendable, Equatable, Codable {
    case null
    case bool(Bool)
    /// A number written without fraction or exponent that fits in `Int`.
    case int(Int)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The value as an exact integer (`3` or `3.0`), or nil.
    public var intValue: Int? {
        switch self {
        case .int(let value): return value
        case .number(let value):
            guard value.rounded() == value, abs(value) < 9.0e15 else { return nil }
            return Int(value)
        default: return nil
        }
    }

    /// The value as a number, or nil.
    public var doubleValue: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .number(let value): return value
        default: return nil
        }
    }

    /// Short rendering for error messages.
    public var brief: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return String(value)
        case .int(let value): return String(value)
        case .number(let value): return String(value)
        case .string(let value): return "\"\(value.prefix(40))\""
        case .array(let values): return "[" + values.prefix(8).map(\.brief).joined(separator: ", ") + (values.count > 8 ? ", ...]" : "]")
        case .object: return "an object"
        }
    }

    /// Parses a JSON document, reporting failures as a readable message.
    static func parse(_ bytes: some Collection<UInt8>) -> Result<JSONValue, JSONParseFailure> {
        do {
            return .success(try JSONDecoder().decode(JSONValue.self, from: Data(bytes)))
        } catch let error as DecodingError {
            return .failure(JSONParseFailure(message: describe(error)))
        } catch {
            return .failure(JSONParseFailure(message: "\(error)"))
        }
    }
}

struct JSONParseFailure: Error {
    var message: String
}

/// A one-line explanation of a `DecodingError`, with the JSON path of the offending value.
func describe(_ error: DecodingError) -> String {
    func path(_ keys: [any CodingKey]) -> String {
        var text = ""
        for key in keys {
            if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
        }
        return text.isEmpty ? "the document" : text
    }
    switch error {
    case .dataCorrupted(let context) where !context.codingPath.isEmpty:
        // The JSON parsed; a value in it does not fit its field (a negative or huge integer).
        return "\(path(context.codingPath)) has an invalid value: \(context.debugDescription)"
    case .dataCorrupted(let context):
        let underlying = context.underlyingError.map { " (\($0))" } ?? ""
        return "malformed JSON at \(path(context.codingPath)): \(context.debugDescription)\(underlying)"
    case .keyNotFound(let key, let context):
        return "missing key \"\(key.stringValue)\" in \(path(context.codingPath))"
    case .typeMismatch(let type, let context):
        return "\(path(context.codingPath)) should be \(type): \(context.debugDescription)"
    case .valueNotFound(let type, let context):
        return "\(path(context.codingPath)) should be \(type) but is null"
    @unknown default:
        return "\(error)"
    }
}
