import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A response as read off the wire by `TestHTTPClient`.
struct TestHTTPResponse: Sendable {
    var status: Int
    var reason: String
    /// Header names as sent, in order.
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    /// The first header with this name, compared case-insensitively.
    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    var bodyText: String { String(decoding: body, as: UTF8.self) }
}

enum TestHTTPClientError: Error, CustomStringConvertible {
    case connectFailed(String)
    case sendFailed(errno: Int32)
    /// The peer closed the connection (or reset it) before a complete response arrived.
    case closed(partial: [UInt8])
    case timedOut
    case malformed(String)

    var description: String {
        switch self {
        case .connectFailed(let why): "connect failed: \(why)"
        case .sendFailed(let code): "send failed: \(String(cString: strerror(code)))"
        case .closed(let partial): "connection closed after \(partial.count) bytes"
        case .timedOut: "timed out waiting for the server"
        case .malformed(let why): "malformed response: \(why)"
        }
    }
}

/// A deliberately small HTTP/1.1 client over a raw TCP socket, for tests that need control over
/// the bytes: arbitrary (even invalid) requests, chunked bodies, partial sends, keep-alive and
/// abrupt disconnects. Blocking I/O with a socket timeout so a broken server fails a test instead
/// of hanging it. Not thread-safe: use one client per thread.
final class TestHTTPClient {
    private var fd: Int32
    private var buffer: [UInt8] = []
    let port: Int

    /// Connects to `host:port` (an IPv4 literal). `timeoutSeconds` bounds every blocking read and write.
    init(host: String = "127.0.0.1", port: Int, timeoutSeconds: Int = 20) throws {
        self.port = port
        #if canImport(Glibc)
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw TestHTTPClientError.connectFailed("socket: errno \(errno)") }
        setTimeout(seconds: timeoutSeconds)
        var noDelay: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))

        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            Glibc.close(fd)
            throw TestHTTPClientError.connectFailed("not an IPv4 address: \(host)")
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            Glibc.close(fd)
            throw TestHTTPClientError.connectFailed(String(cString: strerror(code)))
        }
    }

    /// Bounds every later blocking read and write on this connection.
    func setTimeout(seconds: Int) {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Caps the kernel's receive buffer (and turns off its growth), so that a client that does not
    /// read leaves most of a large response with the server.
    func setReceiveBuffer(bytes: Int32) {
        var size = bytes
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
    }

    // MARK: Sending

    /// Sends exactly these bytes (no framing added). Never raises SIGPIPE.
    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { throw TestHTTPClientError.timedOut }
                throw TestHTTPClientError.sendFailed(errno: errno)
            }
            offset += sent
        }
    }

    func send(_ text: String) throws {
        try send(Array(text.utf8))
    }

    /// Sends a request with `Host` and, when there is a body, `Content-Length` added unless given.
    func sendRequest(method: String = "GET", path: String, headers: [(String, String)] = [],
                     body: [UInt8] = []) throws {
        var head = "\(method) \(path) HTTP/1.1\r\n"
        let names = Set(headers.map { $0.0.lowercased() })
        if !names.contains("host") { head += "Host: 127.0.0.1:\(port)\r\n" }
        if !names.contains("content-length") && !names.contains("transfer-encoding") && (!body.isEmpty || method == "POST") {
            head += "Content-Length: \(body.count)\r\n"
        }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        try send(Array(head.utf8) + body)
    }

    /// Sends a request whose body goes out with `Transfer-Encoding: chunked`, one chunk per element.
    func sendChunkedRequest(method: String = "POST", path: String, headers: [(String, String)] = [],
                            chunks: [[UInt8]]) throws {
        try sendRequest(method: method, path: path, headers: headers + [("Transfer-Encoding", "chunked")])
        for chunk in chunks where !chunk.isEmpty {
            try sendChunk(chunk)
        }
        try send("0\r\n\r\n")
    }

    /// Sends one chunk of a chunked body (the caller ends the body with `send("0\r\n\r\n")`).
    func sendChunk(_ chunk: [UInt8]) throws {
        try send(Array((String(chunk.count, radix: 16) + "\r\n").utf8) + chunk + Array("\r\n".utf8))
    }

    /// Sends a request and reads its response.
    func request(method: String = "GET", path: String, headers: [(String, String)] = [],
                 body: [UInt8] = []) throws -> TestHTTPResponse {
        try sendRequest(method: method, path: path, headers: headers, body: body)
        return try readResponse(forHead: method == "HEAD")
    }

    // MARK: Receiving

    /// Reads one response: status line, headers, and a body framed by Content-Length, chunked
    /// encoding, or the connection closing.
    func readResponse(forHead: Bool = false) throws -> TestHTTPResponse {
        let headText = try readUntil(Array("\r\n\r\n".utf8))
        let lines = String(decoding: headText.dropLast(4), as: UTF8.self).components(separatedBy: "\r\n")
        guard let statusLine = lines.first else { throw TestHTTPClientError.malformed("empty head") }
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw TestHTTPClientError.malformed("status line '\(statusLine)'")
        }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { throw TestHTTPClientError.malformed("header '\(line)'") }
            let value = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
            headers.append((String(line[..<colon]), String(value)))
        }
        var response = TestHTTPResponse(status: status, reason: parts.count > 2 ? String(parts[2]) : "",
                                        headers: headers, body: [])
        if forHead || status == 204 || status == 304 || (100..<200).contains(status) { return response }
        if response.header("transfer-encoding")?.lowercased().contains("chunked") == true {
            response.body = try readChunkedBody()
        } else if let lengthText = response.header("content-length") {
            guard let length = Int(lengthText), length >= 0 else {
                throw TestHTTPClientError.malformed("Content-Length '\(lengthText)'")
            }
            response.body = try readExactly(length)
        } else {
            response.body = try readToEnd()
        }
        return response
    }

    /// True when the server has closed (or reset) the connection: reads and discards until EOF.
    /// Throws `timedOut` if the connection stays open with nothing to read.
    func waitForClose() throws -> Bool {
        while true {
            switch try fill() {
            case .data: buffer.removeAll()
            case .endOfStream: return true
            }
        }
    }

    /// Closes the socket immediately (a client that walks away).
    func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    /// Closes with a TCP reset instead of a FIN, as a crashed client would.
    func reset() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close()
    }

    private enum FillResult { case data, endOfStream }

    private func fill() throws -> FillResult {
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                buffer.append(contentsOf: chunk[0..<count])
                return .data
            }
            if count == 0 { return .endOfStream }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { throw TestHTTPClientError.timedOut }
            return .endOfStream  // ECONNRESET and friends: the peer is gone
        }
    }

    private func readUntil(_ delimiter: [UInt8]) throws -> [UInt8] {
        var searchFrom = 0
        while true {
            if buffer.count >= delimiter.count {
                let lastStart = buffer.count - delimiter.count
                if searchFrom <= lastStart {
                    for start in searchFrom...lastStart where buffer[start..<(start + delimiter.count)].elementsEqual(delimiter) {
                        let result = Array(buffer[0..<(start + delimiter.count)])
                        buffer.removeFirst(start + delimiter.count)
                        return result
                    }
                    searchFrom = lastStart + 1
                }
            }
            if try fill() == .endOfStream { throw TestHTTPClientError.closed(partial: buffer) }
        }
    }

    private func readExactly(_ count: Int) throws -> [UInt8] {
        while buffer.count < count {
            if try fill() == .endOfStream { throw TestHTTPClientError.closed(partial: buffer) }
        }
        let result = Array(buffer[0..<count])
        buffer.removeFirst(count)
        return result
    }

    private func readToEnd() throws -> [UInt8] {
        while try fill() == .data {}
        defer { buffer.removeAll() }
        return buffer
    }

    private func readChunkedBody() throws -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let sizeLine = String(decoding: try readUntil(Array("\r\n".utf8)).dropLast(2), as: UTF8.self)
            let sizeText = sizeLine.split(separator: ";").first.map(String.init) ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
                throw TestHTTPClientError.malformed("chunk size '\(sizeLine)'")
            }
            if size == 0 {
                // Trailers, then the empty line.
                while try readUntil(Array("\r\n".utf8)).count > 2 {}
                return body
            }
            body += try readExactly(size)
            _ = try readExactly(2)
        }
    }
}
