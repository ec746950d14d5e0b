import Dispatch

/// Where inference bodies (`/infer` and V2) are decoded: small ones, and `/infer`'s raw tensors up to
/// `inlineRawTensorMaxBytes`, on the calling (HTTP) thread; other large or compressed ones on a
/// concurrent queue, so one large JSON body does not hold up the HTTP thread or other requests. A raw
/// tensor body (`application/octet-stream`) decodes at the speed of a memory copy, which costs less
/// than the hand-off to another thread and its wake-up (BENCHMARKS.md, "The served request, piece by
/// piece").
enum BodyDecoding {
    /// Bodies up to this size are decoded inline: decoding one takes less than handing it to
    /// another thread and waking that thread (one context switch fewer per request).
    static let inlineMaxBytes = 16 << 10

    /// Raw tensor bodies up to this size are decoded inline (a batch of 8 RGB 224x224 images is about
    /// 4.8 MB): the copy stays short next to receiving the same bytes, and a body at the body limit
    /// does not hold up the HTTP thread for the time it takes to copy it.
    static let inlineRawTensorMaxBytes = 8 << 20

    private static let queue = DispatchQueue(label: "dyserve.decode", qos: .userInitiated, attributes: .concurrent)

    /// Runs `work` now when the request's body is small, or a raw tensor within
    /// `inlineRawTensorMaxBytes` where the route reads `application/octet-stream` as one (`/infer`; V2's
    /// binary bodies start with a JSON header of any size), and not compressed (a small gzip body may
    /// inflate to the body limit); else on the decode queue.
    static func run(_ request: HTTPRequest, octetStreamIsRawTensor: Bool = false, _ work: @escaping @Sendable () -> Void) {
        let inline = request.body.count <= inlineMaxBytes
            || (octetStreamIsRawTensor && request.body.count <= inlineRawTensorMaxBytes
                && isOctetStream(request.headers["content-type"]))
        if inline && request.headers["content-encoding"] == nil {
            work()
        } else {
            queue.async(execute: work)
        }
    }

    /// `application/octet-stream`, parameters ignored.
    static func isOctetStream(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let media = contentType.split(separator: ";", maxSplits: 1).first.map { $0.strippingBlanks().lowercased() }
        return media == "application/octet-stream"
    }
}
