import Dispatch

/// Where inference bodies (`/infer` and V2) are decoded: small ones on the calling (HTTP) thread,
/// large or compressed ones on a concurrent queue, so one large JSON body does not hold up the
/// HTTP thread or other requests.
enum BodyDecoding {
    /// Bodies up to this size are decoded inline: decoding one takes less than handing it to
    /// another thread and waking that thread (one context switch fewer per request).
    static let inlineMaxBytes = 16 << 10

    private static let queue = DispatchQueue(label: "dyserve.decode", qos: .userInitiated, attributes: .concurrent)

    /// Runs `work` now when the request's body is small and not compressed (a small gzip body
    /// may inflate to the body limit), else on the decode queue.
    static func run(_ request: HTTPRequest, _ work: @escaping @Sendable () -> Void) {
        if request.body.count <= inlineMaxBytes && request.headers["content-encoding"] == nil {
            work()
        } else {
            queue.async(execute: work)
        }
    }
}
