/// Everything a request can get wrong, each case knowing the HTTP status it becomes.
///
/// Routes, codecs and the registry throw these; `response(id:)` turns one into `{"error": message}`
/// through the service's one JSON error writer (`HTTPResponse.jsonError`), so no route writes an
/// error response by hand. `internalError` is reserved for our own bugs.
public enum RequestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 400: the input is malformed; the message says what and where.
    case badRequest(String)
    /// 404: unknown model, trace id or path.
    case notFound(String)
    /// 405: the path exists but not for this method; `allowed` feeds the `Allow` header.
    case methodNotAllowed(method: String, path: String, allowed: [String])
    /// 413: the body or the tensor is larger than the configured limit.
    case payloadTooLarge(String)
    /// 415: a content type we do not decode.
    case unsupportedMediaType(String)
    /// 503: not ready, shutting down, or the inference queue is full.
    case unavailable(String)
    /// 500: a bug on our side; the message is logged and returned.
    case internalError(String)
    /// 400/401/403 from the authentication gate, with its `WWW-Authenticate` challenge.
    case authentication(AuthFailure)

    public var status: Int {
        switch self {
        case .badRequest: 400
        case .notFound: 404
        case .methodNotAllowed: 405
        case .payloadTooLarge: 413
        case .unsupportedMediaType: 415
        case .unavailable: 503
        case .internalError: 500
        case .authentication(let failure): failure.status
        }
    }

    public var message: String {
        switch self {
        case .badRequest(let m), .notFound(let m), .payloadTooLarge(let m),
             .unsupportedMediaType(let m), .unavailable(let m), .internalError(let m):
            m
        case .methodNotAllowed(let method, let path, let allowed):
            "method \(method) is not allowed on \(path); use \(allowed.joined(separator: ", "))"
        case .authentication(let failure):
            failure.message
        }
    }

    public var description: String { "\(status): \(message)" }

    /// Extra headers the status calls for (`Allow` on 405, `Retry-After` on 503).
    var extraHeaders: [(name: String, value: String)] {
        switch self {
        case .methodNotAllowed(_, _, let allowed): [("Allow", allowed.joined(separator: ", "))]
        case .unavailable: [("Retry-After", "1")]
        case .authentication(let failure): [("WWW-Authenticate", failure.challenge)]
        default: []
        }
    }

    /// The JSON response this error becomes, tagged with the request's id.
    func response(id: String) -> HTTPResponse {
        HTTPResponse.jsonError(status: status, message: message, headers: extraHeaders + [("X-Request-Id", id)])
    }
}
