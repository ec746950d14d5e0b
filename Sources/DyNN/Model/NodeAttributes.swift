/// Typed, checked access to one node's `attrs`. Every read marks the attribute as used; `finish()`
/// then rejects whatever the op did not read, so a misspelt attribute is an error, not a default.
struct NodeAttributes {
    let node: String
    let op: String
    private let values: [String: JSONValue]
    private var used: Set<String> = []

    init(node: NodeSpec) {
        self.node = node.name
        self.op = node.op
        self.values = node.attrs
    }

    private mutating func value(_ key: String) -> JSONValue? {
        used.insert(key)
        return values[key]
    }

    private func invalid(_ key: String, _ expected: String, _ actual: JSONValue) -> ModelError {
        .invalidAttribute(node: node, attribute: key, expected: expected, actual: actual.brief)
    }

    private func missing(_ key: String) -> ModelError {
        .missingAttribute(node: node, op: op, attribute: key)
    }

    /// Upper bound of every integer attribute: far above any real layer, low enough that products
    /// of a few sizes cannot overflow and that defaults sized by them (e.g. `alpha`) stay small.
    static let maximumInt = 1 << 24

    /// An integer in `minimum...maximumInt`; `fallback` nil makes it required.
    mutating func int(_ key: String, default fallback: Int? = nil, minimum: Int = 1) throws(ModelError) -> Int {
        guard let raw = value(key) else {
            guard let fallback else { throw missing(key) }
            return fallback
        }
        guard let result = raw.intValue, result >= minimum, result <= Self.maximumInt else {
            throw invalid(key, minimum == 1 ? "an integer >= 1" : "an integer >= \(minimum)", raw)
        }
        return result
    }

    /// `n` or `[a, b]`, each at least `minimum`.
    mutating func pair(_ key: String, default fallback: (Int, Int)? = nil, minimum: Int = 1) throws(ModelError) -> (Int, Int) {
        guard let raw = value(key) else {
            guard let fallback else { throw missing(key) }
            return fallback
        }
        let expected = "an integer >= \(minimum) or [h, w]"
        let domain = minimum...Self.maximumInt
        if let single = raw.intValue {
            guard domain.contains(single) else { throw invalid(key, expected, raw) }
            return (single, single)
        }
        guard case .array(let items) = raw, items.count == 2,
              let first = items[0].intValue, let second = items[1].intValue, domain.contains(first), domain.contains(second) else {
            throw invalid(key, expected, raw)
        }
        return (first, second)
    }

    /// Padding as (top, left, bottom, right) from `p`, `[ph, pw]` or `[t, l, b, r]`.
    mutating func padding(_ key: String = "padding") throws(ModelError) -> (top: Int, left: Int, bottom: Int, right: Int) {
        guard let raw = value(key) else { return (0, 0, 0, 0) }
        let expected = "a non-negative integer, [ph, pw] or [top, left, bottom, right]"
        if let single = raw.intValue {
            guard (0...Self.maximumInt).contains(single) else { throw invalid(key, expected, raw) }
            return (single, single, single, single)
        }
        guard case .array(let items) = raw else { throw invalid(key, expected, raw) }
        let numbers = items.compactMap(\.intValue)
        guard numbers.count == items.count, numbers.allSatisfy({ (0...Self.maximumInt).contains($0) }) else { throw invalid(key, expected, raw) }
        switch numbers.count {
        case 2: return (numbers[0], numbers[1], numbers[0], numbers[1])
        case 4: return (numbers[0], numbers[1], numbers[2], numbers[3])
        default: throw invalid(key, expected, raw)
        }
    }

    /// A finite number; `positive` additionally requires > 0.
    mutating func float(_ key: String, default fallback: Float? = nil, positive: Bool = false) throws(ModelError) -> Float {
        guard let result = try optionalFloat(key, positive: positive) else {
            guard let fallback else { throw missing(key) }
            return fallback
        }
        return result
    }

    mutating func optionalFloat(_ key: String, positive: Bool = false) throws(ModelError) -> Float? {
        guard let raw = value(key) else { return nil }
        guard let number = raw.doubleValue, let result = Float(exactly: Float(number)), result.isFinite,
              !positive || result > 0 else {
            throw invalid(key, positive ? "a positive number" : "a finite number", raw)
        }
        return result
    }

    /// A list of `count` finite numbers.
    mutating func floats(_ key: String, count: Int, default fallback: [Float]? = nil) throws(ModelError) -> [Float] {
        guard let raw = value(key) else {
            guard let fallback else { throw missing(key) }
            return fallback
        }
        let expected = "a list of \(count) numbers"
        guard case .array(let items) = raw, items.count == count else { throw invalid(key, expected, raw) }
        var result: [Float] = []
        for item in items {
            guard let number = item.doubleValue, Float(number).isFinite else { throw invalid(key, expected, raw) }
            result.append(Float(number))
        }
        return result
    }

    mutating func bool(_ key: String, default fallback: Bool) throws(ModelError) -> Bool {
        guard let raw = value(key) else { return fallback }
        guard case .bool(let result) = raw else { throw invalid(key, "true or false", raw) }
        return result
    }

    /// One of `options`, by raw value; `fallback` nil makes it required.
    mutating func choice<T: RawRepresentable>(_ key: String, options: [T], default fallback: T? = nil) throws(ModelError) -> T
    where T.RawValue == String {
        guard let raw = value(key) else {
            guard let fallback else { throw missing(key) }
            return fallback
        }
        let spellings = options.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
        guard case .string(let text) = raw, let result = T(rawValue: text), options.contains(where: { $0.rawValue == text }) else {
            throw invalid(key, "one of \(spellings)", raw)
        }
        return result
    }

    /// Rejects attributes the op never asked for.
    func finish() throws(ModelError) {
        if let extra = values.keys.filter({ !used.contains($0) }).sorted().first {
            throw .unknownAttribute(node: node, op: op, attribute: extra)
        }
    }
}
