/// A request answered without a result (or whose result came too late), with the reason it
/// counts under in `dyserve_rejections_total` and the status and headers its HTTP answer needs,
/// so every route (`/infer`, `/v2/.../infer`) answers it the same way. Executors complete refused
/// jobs with this error; the registry's refusal during shutdown becomes one in the pipeline.
public struct SchedulingRejection: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: RejectionReason
    /// 503 (or the configured overload status, 429, for a full queue), 504 for a request whose
    /// deadline passed while it was running, 499 for a client that left.
    public var status: Int
    public var message: String
    /// Seconds a client should wait before retrying; sent as `Retry-After` unless nil.
    public var retryAfterSeconds: Int?

    public init(reason: RejectionReason, status: Int, message: String, retryAfterSeconds: Int? = 1) {
        self.reason = reason
        self.status = status
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// The client hung up before its request ran: 499 (as nginx logs it), which nobody reads but
    /// which keeps such requests apart in metrics.
    public static let clientGone = SchedulingRejection(
        reason: .clientGone, status: 499, message: "the client went away before inference started", retryAfterSeconds: nil)

    public var description: String { "\(status) (\(reason.rawValue)): \(message)" }

    /// Headers beyond `Content-Type` the answer carries.
    public var headers: [(name: String, value: String)] {
        retryAfterSeconds.map { [("Retry-After", String($0))] } ?? []
    }

    /// The `{"error": message}` answer, written like `RequestError`'s, tagged with the request's id.
    func response(id: String) -> HTTPResponse {
        HTTPResponse.jsonError(status: status, message: message, headers: headers + [("X-Request-Id", id)])
    }
}
