import Foundation
import Testing
@testable import DyServe

/// RFC 9112 message framing: requests a proxy could frame differently from us are refused with
/// 400 and a closed connection, so nothing after them is read as another request.
@Suite struct HTTPServerFramingTests {
    /// Sends `head` (+ `rest`), expects a JSON 400 whose message contains `mentions`, then the
    /// connection closed with the application never called.
    private func expectRefused(_ head: String, rest: String = "", mentions: String,
                               sourceLocation: SourceLocation = #_sourceLocation) throws {
        try withTestServer { _, handler, port in
            let client = try TestHTTPClient(port: port, timeoutSeconds: 10)
            try client.send(Array((head + "\r\n" + rest).utf8))
            let r = try client.readResponse()
            #expect(r.status == 400, "\(r.status) \(r.bodyText)", sourceLocation: sourceLocation)
            #expect(r.header("connection")?.lowercased() == "close", sourceLocation: sourceLocation)
            #expect(r.header("content-type") == "application/json", sourceLocation: sourceLocation)
            #expect(r.bodyText.contains(mentions), "\(r.bodyText)", sourceLocation: sourceLocation)
            #expect(try client.waitForClose(), sourceLocation: sourceLocation)
            #expect(handler.handledCount == 0, sourceLocation: sourceLocation)
            // The server is still healthy.
            let fresh = try TestHTTPClient(port: port)
            #expect(try fresh.request(path: "/status?code=204").status == 204, sourceLocation: sourceLocation)
        }
    }

    private let smuggled = "GET /status?code=299 HTTP/1.1\r\nHost: x\r\n\r\n"

    @Test func contentLengthWithTransferEncodingIsRefusedAndNothingAfterItRuns() throws {
        try expectRefused("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                          rest: "0\r\n\r\n" + smuggled, mentions: "both Content-Length and Transfer-Encoding")
    }

    @Test func transferEncodingsOtherThanASingleChunkedAreRefused() throws {
        for coding in ["gzip", "xchunked", "chunked, identity", "identity", "gzip, chunked"] {
            try expectRefused("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \(coding)\r\n",
                              rest: "5\r\nhello\r\n0\r\n\r\n", mentions: "only a single \\\"chunked\\\"")
        }
        try expectRefused("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
                          rest: "5\r\nhello\r\n0\r\n\r\n" + smuggled, mentions: "chunked, identity")
    }

    @Test func duplicateContentLengthIsRefused() throws {
        try expectRefused("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n",
                          rest: "hello", mentions: "Content-Length appears 2 times")
        try expectRefused("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 288\r\nContent-Length: 5\r\n",
                          rest: "hello", mentions: "Content-Length appears 2 times")
    }

    @Test func whitespaceBeforeTheColonIsRefused() throws {
        try expectRefused("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n", rest: "hello" + smuggled,
                          mentions: "contains whitespace")
        try expectRefused("GET /echo HTTP/1.1\r\nHost: x\r\nX-A\t: 1\r\n", mentions: "contains whitespace")
    }

    /// MHD answers these itself (400, connection closed) before the application sees them.
    @Test func malformedContentLengthIsRefusedByTheLibrary() throws {
        try withTestServer { _, handler, port in
            for value in ["-5", "abc", "288, 5", "+5", "5 5"] {
                let client = try TestHTTPClient(port: port, timeoutSeconds: 10)
                try client.send(Array("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: \(value)\r\n\r\nhello\(smuggled)".utf8))
                let r = try client.readResponse()
                #expect(r.status == 400, "Content-Length \(value): \(r.status)")
                #expect(r.header("connection")?.lowercased() == "close")
                #expect(try client.waitForClose())
            }
            #expect(handler.handledCount == 0)
        }
    }

    @Test func aSingleChunkedOrLengthStillWorks() throws {
        try withTestServer { _, _, port in
            let client = try TestHTTPClient(port: port)
            try client.sendChunkedRequest(path: "/echo",
                                          chunks: [Array("hel".utf8), Array("lo".utf8)])
            #expect(try decodeEcho(try client.readResponse()).body == "hello")
            let again = try client.request(method: "POST", path: "/echo", body: Array("again".utf8))
            #expect(try decodeEcho(again).body == "again")
        }
    }

    @Test func framingRulesOnHeaderLists() {
        #expect(RequestFraming.violation(in: [("Host", "x"), ("Content-Length", "12")]) == nil)
        #expect(RequestFraming.violation(in: [("Transfer-Encoding", " Chunked ")]) == nil)
        #expect(RequestFraming.violation(in: [("Content-Length", "0012")]) == nil)
        #expect(RequestFraming.violation(in: [("Content-Length", "")]) != nil)
        #expect(RequestFraming.violation(in: [("Content-Length", "1e3")]) != nil)
        #expect(RequestFraming.violation(in: [("Transfer-Encoding", "chunked,")]) != nil)
        #expect(RequestFraming.violation(in: [("X-Ok", "a"), ("Bad(Name)", "b")])?.contains("U+0028") == true)
    }
}
