/// A complete HTTP request as the server hands it to the application: headers parsed, body read.
/// Multiple headers with the same name are joined with ", " in arrival order.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The path without the query string, e.g. `/infer`.
    public var path: String
    /// Decoded query parameters; the last value wins for a repeated key.
    public var query: [String: String]
    /// Header names lower-cased.
    public var headers: [String: String]
    public var body: [UInt8]
    /// Per-request facts from the connection: whether the client is gone, the peer address.
    /// Requests built outside the server get a context that is never cancelled.
    public var context: RequestContext
    /// The scopes the request's API key grants, set by `AuthGate` at dispatch; nil when
    /// authentication is off. Read where a body may ask for more than its endpoint needs.
    public var apiKeyScopes: Set<AuthScope>?

    public init(method: String, path: String, query: [String: String] = [:],
                headers: [String: String] = [:], body: [UInt8] = [],
                context: RequestContext = RequestContext()) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.context = context
    }
}

/// A complete response: status, headers in order, body.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// The application side of the server. `handle` runs on the server's single polling thread and
/// must return quickly (hand heavy work to another thread): it may call `respond` later from any
/// thread, exactly once; further calls are ignored. While the application works, the connection
/// is parked; `request.context` reports when nobody waits for the answer any more (client gone,
/// server stopping), and the application should still call `respond` (it is then dropped).
public protocol HTTPHandler: Sendable {
    func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void)
}
