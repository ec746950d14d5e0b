import Logging

/// One raw configuration value before it is checked against its key's type. YAML gives all three
/// shapes; environment variables and flags always give `.scalar` (a list is comma-separated there).
enum ConfigValue: Sendable, Equatable {
    case null
    case scalar(String)
    case list([String])
}

/// Why a raw value does not fit its key; the loader prefixes it with where the value came from.
struct ConfigValueProblem: Error {
    var message: String
}

/// Conversions from raw values to typed settings, each with the error message a user needs.
enum ConfigValueParser {
    static func string(_ value: ConfigValue, allowEmpty: Bool = false) throws(ConfigValueProblem) -> String {
        guard case .scalar(let text) = value else { throw ConfigValueProblem(message: "expected a single value") }
        if !allowEmpty && text.trimmingSpaces.isEmpty { throw ConfigValueProblem(message: "must not be empty") }
        return text
    }

    /// A string that may be left unset: null or empty gives "".
    static func optionalString(_ value: ConfigValue) throws(ConfigValueProblem) -> String {
        if case .null = value { return "" }
        return try string(value, allowEmpty: true).trimmingSpaces
    }

    /// An integer in `range`. Accepts `_` separators (`16_777_216`) as YAML does.
    static func integer(_ value: ConfigValue, in range: ClosedRange<Int>) throws(ConfigValueProblem) -> Int {
        let text = try string(value, allowEmpty: true).trimmingSpaces
        guard let number = parseInteger(text) else {
            throw ConfigValueProblem(message: "'\(text)' is not an integer")
        }
        return try check(number, in: range)
    }

    /// A byte count in `range`: an integer, optionally with a binary suffix `KiB`, `MiB` or `GiB`.
    static func byteCount(_ value: ConfigValue, in range: ClosedRange<Int>) throws(ConfigValueProblem) -> Int {
        let text = try string(value, allowEmpty: true).trimmingSpaces
        let suffixes: [(String, Int)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30)]
        var digits = Substring(text)
        var scale = 1
        for (suffix, factor) in suffixes where text.hasSuffix(suffix) {
            digits = text.dropLast(suffix.count)
            scale = factor
        }
        guard let number = parseInteger(String(digits).trimmingSpaces) else {
            throw ConfigValueProblem(message: "'\(text)' is not a byte count (an integer, optionally with KiB, MiB or GiB)")
        }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: scale)
        if overflow { throw ConfigValueProblem(message: "'\(text)' is out of range \(range.lowerBound)...\(range.upperBound)") }
        return try check(bytes, in: range)
    }

    /// `true` or `false` (YAML 1.2's core schema; any case), so a typo is an error rather than a guess.
    static func boolean(_ value: ConfigValue) throws(ConfigValueProblem) -> Bool {
        let text = try string(value, allowEmpty: true).trimmingSpaces
        switch text.lowercased() {
        case "true": return true
        case "false": return false
        default: throw ConfigValueProblem(message: "'\(text)' is not true or false")
        }
    }

    /// One of swift-log's level names, in any case.
    static func logLevel(_ value: ConfigValue) throws(ConfigValueProblem) -> Logger.Level {
        let text = try string(value, allowEmpty: true).trimmingSpaces
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            let known = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigValueProblem(message: "'\(text)' is not a log level (\(known))")
        }
        return level
    }

    /// A list of model names, or `nil` for "all". A scalar is read as a comma-separated list, and
    /// an empty scalar or null means "all". Names must be plain folder names: a name is joined to
    /// the models directory, so a path separator or `..` would reach outside it.
    static func modelNames(_ value: ConfigValue) throws(ConfigValueProblem) -> [String]? {
        if case .list(let items) = value, items.isEmpty {
            throw ConfigValueProblem(message: "the list is empty; leave the key out to load every model")
        }
        return try modelNameList(value)
    }

    /// A list (or comma-separated string) of distinct plain model folder names; nil for null or an
    /// empty string, `[]` for an empty list.
    static func modelNameList(_ value: ConfigValue) throws(ConfigValueProblem) -> [String]? {
        let names: [String]
        switch value {
        case .null:
            return nil
        case .scalar(let text):
            if text.trimmingSpaces.isEmpty { return nil }
            names = text.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingSpaces }
        case .list(let items):
            names = items.map(\.trimmingSpaces)
        }
        var seen = Set<String>()
        for name in names {
            if name.isEmpty { throw ConfigValueProblem(message: "a model name is empty") }
            if name == "." || name == ".." || name.contains("/") || name.contains("\\") || name.contains("\0") {
                throw ConfigValueProblem(message: "'\(name)' is not a plain model folder name")
            }
            if !seen.insert(name).inserted { throw ConfigValueProblem(message: "model '\(name)' is listed twice") }
        }
        return names
    }

    private static func parseInteger(_ text: String) -> Int? {
        let cleaned = text.replacingAll("_", with: "")
        guard !cleaned.isEmpty, !text.hasPrefix("_") else { return nil }
        return Int(cleaned)
    }

    private static func check(_ number: Int, in range: ClosedRange<Int>) throws(ConfigValueProblem) -> Int {
        guard range.contains(number) else {
            if range.upperBound == Int.max {
                throw ConfigValueProblem(message: "\(number) must be at least \(range.lowerBound)")
            }
            throw ConfigValueProblem(message: "\(number) is out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and newlines.
    var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }

    func replacingAll(_ target: Character, with replacement: String) -> String {
        var result = ""
        result.reserveCapacity(utf8.count)
        for character in self {
            if character == target { result += replacement } else { result.append(character) }
        }
        return result
    }
}
