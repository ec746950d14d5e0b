/// Why a request was refused by the authentication gate, and how RFC 6750 says to answer it:
/// the status, and the `WWW-Authenticate: Bearer ...` challenge sent with the JSON error.
public enum AuthFailure: Sendable, Equatable {
    /// No `Authorization: Bearer` header (absent, or another scheme): 401, a challenge without an
    /// error code (RFC 6750 section 3.1: the client may not know a key is needed).
    case missing(required: AuthScope, action: String)
    /// `Bearer` with something that is not one token: 400 `invalid_request`.
    case malformed
    /// A well-formed key that is not configured: 401 `invalid_token`.
    case unknownKey
    /// A valid key without the scope the action needs: 403 `insufficient_scope`.
    case insufficientScope(required: AuthScope, action: String)

    /// The realm named in every challenge.
    static let realm = "dyserve"

    public var status: Int {
        switch self {
        case .missing, .unknownKey: 401
        case .malformed: 400
        case .insufficientScope: 403
        }
    }

    public var message: String {
        switch self {
        case .missing(let scope, let action):
            "\(action) needs an API key with scope \(scope.rawValue); send it as 'Authorization: Bearer <key>'"
        case .malformed:
            "the Authorization header must be 'Bearer <key>' with one key of letters, digits and - . _ ~ + / ="
        case .unknownKey:
            "the API key is not valid"
        case .insufficientScope(let scope, let action):
            "\(action) needs scope \(scope.rawValue), which this API key does not have"
        }
    }

    /// The `WWW-Authenticate` value.
    public var challenge: String {
        let realm = "Bearer realm=\"\(Self.realm)\""
        switch self {
        case .missing(let scope, _):
            return "\(realm), scope=\"\(scope.rawValue)\""
        case .malformed:
            return "\(realm), error=\"invalid_request\", error_description=\"malformed Authorization header\""
        case .unknownKey:
            return "\(realm), error=\"invalid_token\", error_description=\"the API key is not valid\""
        case .insufficientScope(let scope, _):
            return "\(realm), error=\"insufficient_scope\", scope=\"\(scope.rawValue)\""
        }
    }
}
