/// A request the scheduler answered without running it (or whose result came too late). Carries
/// the status and headers its HTTP answer needs, so every route (`/infer`, `/v2/.../infer`)
/// answers it the same way.
public struct SchedulingRejection: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: RejectionReason
    /// 503 (or the configured overload status, 429, for a full queue), 504 for a request whose
    /// deadline passed while it was running.
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

    public var description: String { "\(status) (\(reason.rawValue)): \(message)" }

    /// Headers beyond `Content-Type` the answer carries.
    public var headers: [(name: String, value: String)] {
        retryAfterSeconds.map { [("Retry-After", String($0))] } ?? []
    }

    /// What a completion carries: a plain 503 becomes `RequestError.unavailable` (same status,
    /// message and Retry-After), which every route already answers; 429 and 504 stay as this
    /// type, which routes answer with `response()`.
    var completionError: any Error {
        status == 503 && retryAfterSeconds == 1 ? RequestError.unavailable(message) : self
    }

    /// The `{"error": message}` answer, in the same shape as `RequestError`'s.
    func response() -> HTTPResponse {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("error")
        writer.string(message)
        writer.endObject()
        return HTTPResponse(status: status, headers: [("Content-Type", "application/json")] + headers,
                            body: writer.bytes)
    }
}
