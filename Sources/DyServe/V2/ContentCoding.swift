import CZlib

/// HTTP content codings for V2 bodies: `gzip` and `deflate` (zlib-wrapped, RFC 9110; a raw
/// deflate stream is accepted too, because some clients send one under that name).
///
/// Decompression stops as soon as the output would exceed `limit`, so a small "zip bomb" body
/// costs at most `limit` bytes of memory and becomes a 413, never an allocation of its full size.
enum ContentCoding: String, Sendable, CaseIterable {
    case gzip
    case deflate

    /// The coding a `Content-Encoding` header names; nil for `identity` or no header.
    static func fromContentEncoding(_ header: String?) throws(RequestError) -> ContentCoding? {
        guard let header else { return nil }
        let value = Substring(header).strippingBlanks().lowercased()
        switch value {
        case "", "identity": return nil
        case "gzip", "x-gzip": return .gzip
        case "deflate": return .deflate
        default:
            throw .unsupportedMediaType("unsupported Content-Encoding \"\(header)\"; use gzip, deflate or identity")
        }
    }

    /// The coding to answer with for an `Accept-Encoding` header: gzip if acceptable, else
    /// deflate, else none. A coding with `q=0` is refused; anything unparseable is ignored.
    static func fromAcceptEncoding(_ header: String?) -> ContentCoding? {
        guard let header else { return nil }
        var accepted: Set<String> = []
        for item in header.split(separator: ",") {
            let parts = item.split(separator: ";").map { $0.strippingBlanks().lowercased() }
            guard let name = parts.first, !name.isEmpty else { continue }
            let refused = parts.dropFirst().contains { p in
                p.hasPrefix("q=") && (Double(p.dropFirst(2)) ?? 1) == 0
            }
            if !refused { accepted.insert(name) }
        }
        if accepted.contains("gzip") || accepted.contains("x-gzip") { return .gzip }
        if accepted.contains("deflate") { return .deflate }
        return nil
    }

    /// Inflates `body`. Throws 413 when the result would exceed `limit` bytes and 400 when the
    /// stream is corrupt, truncated or followed by garbage.
    func decode(_ body: [UInt8], limit: Int) throws(RequestError) -> [UInt8] {
        switch self {
        case .gzip:
            return try Self.inflate(body, windowBits: 15 + 16, limit: limit, name: "gzip")
        case .deflate:
            // zlib-wrapped is the standard meaning; fall back to a raw stream only when the
            // zlib header is not there (a size error stays a size error).
            do {
                return try Self.inflate(body, windowBits: 15, limit: limit, name: "deflate")
            } catch .badRequest {
                return try Self.inflate(body, windowBits: -15, limit: limit, name: "deflate")
            }
        }
    }

    /// Compresses `body` (level 6, zlib's default trade-off).
    func encode(_ body: [UInt8]) throws(RequestError) -> [UInt8] {
        var stream = z_stream()
        let windowBits: Int32 = self == .gzip ? 15 + 16 : 15
        guard czlib_deflate_init(&stream, 6, windowBits) == Z_OK else {
            throw .internalError("zlib could not start a \(rawValue) stream")
        }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(body.count))) + 32)
        var input = body
        let status = input.withUnsafeMutableBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { outBuf in
                stream.next_in = inBuf.baseAddress
                stream.avail_in = uInt(inBuf.count)
                stream.next_out = outBuf.baseAddress
                stream.avail_out = uInt(outBuf.count)
                return CZlib.deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else {
            throw .internalError("zlib \(rawValue) compression failed with status \(status)")
        }
        output.removeSubrange(Int(stream.total_out)...)
        return output
    }

    private static func inflate(_ body: [UInt8], windowBits: Int32, limit: Int, name: String) throws(RequestError) -> [UInt8] {
        guard !body.isEmpty else { throw .badRequest("the \(name) body is empty") }
        var stream = z_stream()
        guard czlib_inflate_init(&stream, windowBits) == Z_OK else {
            throw .internalError("zlib could not start a \(name) stream")
        }
        defer { inflateEnd(&stream) }
        let chunk = 64 << 10
        var output: [UInt8] = []
        var scratch = [UInt8](repeating: 0, count: chunk)
        var input = body
        var finished = false
        var failure: RequestError?
        input.withUnsafeMutableBufferPointer { inBuf in
            stream.next_in = inBuf.baseAddress
            stream.avail_in = uInt(inBuf.count)
            while !finished {
                let (status, produced) = scratch.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = uInt(chunk)
                    let status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return (status, chunk - Int(stream.avail_out))
                }
                if produced > 0 {
                    guard output.count + produced <= limit else {
                        failure = .payloadTooLarge("the \(name) body inflates to more than the limit of \(limit) bytes")
                        return
                    }
                    output.append(contentsOf: scratch[0..<produced])
                }
                switch status {
                case Z_STREAM_END where windowBits > 15 && stream.avail_in >= 2
                        && stream.next_in[0] == 0x1F && stream.next_in[1] == 0x8B:
                    // RFC 1952: a gzip body may be several members one after another (what
                    // `cat a.gz b.gz` makes); each inflates in turn into one body.
                    guard inflateReset(&stream) == Z_OK else {
                        failure = .internalError("zlib could not restart for the next gzip member")
                        return
                    }
                case Z_STREAM_END:
                    finished = true
                case Z_OK:
                    continue
                case Z_BUF_ERROR where stream.avail_in == 0:
                    failure = .badRequest("the \(name) body is truncated")
                    return
                default:
                    let detail = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                    failure = .badRequest("the \(name) body is corrupt: \(detail)")
                    return
                }
            }
            if stream.avail_in != 0 {
                failure = .badRequest("the \(name) body has \(stream.avail_in) bytes after the end of the compressed stream")
            }
        }
        if let failure { throw failure }
        return output
    }
}
