import CMicroHTTPD

/// Everything the server keeps for one request on one connection, from its first access-handler
/// call until MHD reports it completed. MHD holds a +1 reference in `*con_cls`.
///
/// The request fields are touched only on MHD's polling thread. The hand-off fields (`connection`,
/// `suspended`, `response`, `responded`) are guarded by the owning `HTTPServerCore`'s lock, since
/// `respond` may run on any thread.
final class ConnectionState: @unchecked Sendable {
    let method: String
    let path: String
    let query: [String: String]
    let headers: [String: String]
    let context: RequestContext
    var body: [UInt8] = []
    /// Body bytes seen so far, including ones dropped after the limit was crossed.
    var bodyBytesSeen = 0
    var bodyTooLarge = false
    /// The 400 for a request whose framing is refused (`RequestFraming`); its body is never read.
    var rejection: HTTPResponse?
    /// Set when the server-wide budget for request bodies could not take this body's bytes.
    var bodyOverBudget = false
    /// Bytes this request holds of the server's request-body budget; returned when it completes.
    var bodyBytesReserved = 0
    /// True once the application has been given the request.
    var handedToApplication = false

    /// Names this request to the hang-up watcher.
    let token: UInt64

    // Guarded by HTTPServerCore.lock.
    /// The socket registered with the hang-up watcher while suspended, else -1.
    var watchedFD: Int32 = -1
    /// The MHD connection while the request is alive; nil once MHD reported it completed.
    var connection: OpaquePointer?
    var suspended = false
    /// The response waiting to be queued on the next access-handler call.
    var response: PreparedResponse?
    /// True once the application (or the server on its behalf) answered; later answers are dropped.
    var responded = false

    init(token: UInt64, connection: OpaquePointer, method: String, path: String, query: [String: String],
         headers: [String: String], context: RequestContext) {
        self.token = token
        self.connection = connection
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.context = context
    }

    func makeRequest() -> HTTPRequest {
        HTTPRequest(method: method, path: path, query: query, headers: headers, body: body, context: context)
    }
}
