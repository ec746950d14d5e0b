/// One configured API key: its secret bytes and the scopes it grants.
/// Never printed: `description` shows the scopes only.
public struct APIKey: Sendable, CustomStringConvertible {
    let secret: [UInt8]
    public let scopes: Set<AuthScope>

    /// Shortest key accepted: 16 characters of the token alphabet carry at least 96 bits when
    /// drawn at random, which no online guessing reaches.
    static let minimumLength = 16

    public var description: String {
        "API key with scopes " + scopes.sorted().map(\.rawValue).joined(separator: ",")
    }
}

/// Reads API keys from text: one key per entry, `<key> <scope>[,<scope>...]`, where the key is an
/// RFC 6750 token (letters, digits, `-._~+/`, then optional `=` padding) of at least 16
/// characters and the scopes are `inference`, `introspection`, `admin`. `#` starts a comment;
/// blank entries are skipped. In a file, entries are lines; in `auth.keys` (the environment),
/// entries are separated by `;` or newlines.
///
/// Errors name the entry by number and never quote the key.
enum APIKeyParser {
    struct Problem: Error, Equatable, CustomStringConvertible {
        /// 1-based line (file) or entry (`auth.keys`) number.
        let entry: Int
        let message: String
        var description: String { "\(entry): \(message)" }
    }

    /// Keys of a file's text, one per line.
    static func parseFile(_ text: String) throws(Problem) -> [APIKey] {
        // `isNewline` also takes "\r\n", which Swift reads as one Character.
        try parse(entries: text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init))
    }

    /// Keys of `auth.keys`: entries separated by `;` or newlines.
    static func parseList(_ text: String) throws(Problem) -> [APIKey] {
        try parse(entries: text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == ";" || $0.isNewline }).map(String.init))
    }

    private static func parse(entries: [String]) throws(Problem) -> [APIKey] {
        var keys: [APIKey] = []
        for (index, raw) in entries.enumerated() {
            let number = index + 1
            let content = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let fields = content.split(whereSeparator: { $0.isWhitespace || $0 == "," })
            guard let keyField = fields.first else { continue }
            let secret = Array(keyField.utf8)
            if let problem = tokenProblem(secret) {
                throw Problem(entry: number, message: problem)
            }
            var scopes = Set<AuthScope>()
            for name in fields.dropFirst() {
                guard let scope = AuthScope(rawValue: String(name)) else {
                    throw Problem(entry: number, message: "unknown scope '\(name)'; scopes are \(AuthScope.namesList)")
                }
                scopes.insert(scope)
            }
            guard !scopes.isEmpty else {
                throw Problem(entry: number, message: "the key has no scopes; write '<key> <scope>[,<scope>...]' with scopes from \(AuthScope.namesList)")
            }
            // Two equal keys would make the granted scopes depend on which one matches first.
            if keys.contains(where: { $0.secret == secret }) {
                throw Problem(entry: number, message: "the same key appears on an earlier entry")
            }
            keys.append(APIKey(secret: secret, scopes: scopes))
        }
        return keys
    }

    /// Why `token` is not an acceptable key, or nil. Never includes the token itself.
    static func tokenProblem(_ token: [UInt8]) -> String? {
        guard isBearerToken(token) else {
            return "the key is not a bearer token: use letters, digits and - . _ ~ + /, optionally ending in ="
        }
        guard token.count >= APIKey.minimumLength else {
            return "the key has \(token.count) characters; at least \(APIKey.minimumLength) are required"
        }
        return nil
    }

    /// RFC 6750's `b64token`: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
    static func isBearerToken(_ token: some Collection<UInt8>) -> Bool {
        var padding = false
        var body = 0
        for byte in token {
            if byte == UInt8(ascii: "=") {
                padding = true
                continue
            }
            guard !padding else { return false }
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "+"), UInt8(ascii: "/"):
                body += 1
            default:
                return false
            }
        }
        return body > 0
    }
}
