// libFuzzer target: gzip and deflate request bodies (`ContentCoding.decode`, zlib underneath),
// and the `Content-Encoding` / `Accept-Encoding` header values.
//
// Input layout: byte 0 picks the coding (even: gzip, odd: deflate); the rest is the body, also
// read as the header values.
//
// Properties: decoding returns at most the limit or throws a client error (400 corrupt or
// truncated, 413 over the limit; never a 500, trap or hang); the body compressed with the coding
// and decoded again is itself; the header parsers never trap and refuse only with 415.
@testable import DyServe
import FuzzSupport

/// Small, so inputs that inflate past it (bombs) are found quickly.
private let limit = 1 << 16

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzContentCoding(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Fuzz.bytes(data, size)
    guard let selector = bytes.first else { return 0 }
    let coding: ContentCoding = selector % 2 == 0 ? .gzip : .deflate
    let body = Array(bytes.dropFirst())
    do {
        let inflated = try coding.decode(body, limit: limit)
        Fuzz.check(inflated.count <= limit, "\(coding) inflated to \(inflated.count) bytes, over the limit")
    } catch {
        Fuzz.checkClientError(error, parser: "\(coding) decoding")
    }
    do {
        let compressed = try coding.encode(body)
        let again = try coding.decode(compressed, limit: max(limit, body.count))
        Fuzz.check(again == body, "\(coding) round trip changed \(body.count) bytes")
    } catch {
        Fuzz.fail("\(coding) round trip of \(body.count) bytes failed: \(error)")
    }
    let text = String(decoding: body, as: UTF8.self)
    do {
        _ = try ContentCoding.fromContentEncoding(text)
    } catch {
        Fuzz.check(error.status == 415, "Content-Encoding \(text.debugDescription) answered \(error.status)")
    }
    _ = ContentCoding.fromAcceptEncoding(text)
    return 0
}
