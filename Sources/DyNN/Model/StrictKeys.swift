/// A coding key for any string, used to list every key an object actually has.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension Decoder {
    /// Throws `ModelError.unknownKey` for the first key (in sorted order, so messages are stable)
    /// that is not in `known`: the format rejects typos instead of ignoring them.
    func rejectUnknownKeys(_ known: [String], context: @autoclosure () -> String) throws {
        let container = try container(keyedBy: AnyCodingKey.self)
        let unknown = container.allKeys.map(\.stringValue).filter { !known.contains($0) }.sorted()
        if let key = unknown.first { throw ModelError.unknownKey(key: key, context: context()) }
    }
}
