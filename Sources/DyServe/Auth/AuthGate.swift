/// The authentication gate: `APIHandler` asks it about every request before routing. Off (no
/// keys) it lets everything through; on, each request must carry `Authorization: Bearer <key>`
/// with a configured key holding the scope its endpoint needs (`AuthPolicy`), health excepted.
///
/// Keys are compared in constant time (`ConstantTime`) against every configured key, and never
/// logged, echoed in an error or stored outside this value.
public struct AuthGate: Sendable {
    let keys: [APIKey]
    public let policy: AuthPolicy

    /// No keys: every request passes (the default).
    public static let disabled = AuthGate(keys: [], policy: AuthPolicy())

    init(keys: [APIKey], policy: AuthPolicy) {
        self.keys = keys
        self.policy = policy
    }

    public var isEnabled: Bool { !keys.isEmpty }

    /// How many keys are configured (for the start-up log line; the keys themselves are never logged).
    public var keyCount: Int { keys.count }

    /// The scopes the request's key grants, for checks made after the body is decoded (trace
    /// outputs): nil when authentication is off, empty on an open endpoint (no key is read
    /// there). Throws the 401/400/403 the request gets.
    public func authorize(_ request: HTTPRequest, requirement: AuthRequirement) throws(RequestError) -> Set<AuthScope>? {
        guard isEnabled else { return nil }
        guard case .scope(let required) = requirement else {
            return []
        }
        let action = "\(request.method) \(request.path)"
        guard let presented = try Self.bearerToken(request.headers["authorization"]) else {
            throw .authentication(.missing(required: required, action: action))
        }
        guard let key = match(presented) else {
            throw .authentication(.unknownKey)
        }
        guard key.scopes.contains(required) else {
            throw .authentication(.insufficientScope(required: required, action: action))
        }
        return key.scopes
    }

    /// For routes whose answer includes trace outputs only when the body asks for them: throws
    /// 403 unless authentication is off or the key has `introspection`.
    static func requireTraceOutputs(_ request: HTTPRequest) throws(RequestError) {
        if let scopes = request.apiKeyScopes, !scopes.contains(.introspection) {
            throw .authentication(.insufficientScope(required: .introspection,
                                                     action: "returning a trace from \(request.method) \(request.path)"))
        }
    }

    /// The configured key equal to `presented`. Every key is compared, whatever matched before.
    func match(_ presented: [UInt8]) -> APIKey? {
        var found: APIKey?
        for key in keys where ConstantTime.equal(key.secret, presented) {
            found = key
        }
        return found
    }

    /// The token of an `Authorization: Bearer <token>` header; nil when there is no header or it
    /// names another scheme. Throws `malformed` for a Bearer header without exactly one token.
    static func bearerToken(_ header: String?) throws(RequestError) -> [UInt8]? {
        guard let header else { return nil }
        let bytes = Array(header.utf8)
        let scheme = Array("bearer".utf8)
        // The scheme is case-insensitive (RFC 9110 section 11.1).
        guard bytes.count >= scheme.count,
              zip(bytes.prefix(scheme.count), scheme).allSatisfy({ $0 | 0x20 == $1 }),
              bytes.count == scheme.count || bytes[scheme.count] == UInt8(ascii: " ") else {
            return nil
        }
        let token = Array(bytes.dropFirst(scheme.count).drop(while: { $0 == UInt8(ascii: " ") }))
        var end = token.count
        while end > 0 && token[end - 1] == UInt8(ascii: " ") { end -= 1 }
        let trimmed = Array(token[..<end])
        guard APIKeyParser.isBearerToken(trimmed) else {
            throw .authentication(.malformed)
        }
        return trimmed
    }
}
