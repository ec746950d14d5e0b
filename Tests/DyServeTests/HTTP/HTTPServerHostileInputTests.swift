import Foundation
import Testing
@testable import DyServe

/// Requests a server on the open network will see: oversized, malformed, abandoned.
@Suite struct HTTPServerHostileInputTests {
    private static let limit = 1024
    private let configuration = HTTPServerConfiguration(maxBodyBytes: HTTPServerHostileInputTests.limit)

    /// After abuse, a fresh connection must still get a normal answer.
    private func expectStillServing(_ port: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let client = try TestHTTPClient(port: port)
        let response = try client.request(method: "POST", path: "/echo", body: Array("still here".utf8))
        #expect(response.status == 200, sourceLocation: sourceLocation)
        #expect(try decodeEcho(response).body == "still here", sourceLocation: sourceLocation)
    }

    /// The server answered with an error status or closed the connection; anything else fails.
    private func expectRejected(_ client: TestHTTPClient, allowed: Set<Int>,
                                sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let response = try client.readResponse()
            #expect(allowed.contains(response.status), "got \(response.status)", sourceLocation: sourceLocation)
        } catch TestHTTPClientError.closed {
            // Closing without an answer is an acceptable rejection.
        } catch {
            Issue.record("expected a rejection, got \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func bodyAtTheLimitIsAccepted() throws {
        try withTestServer(configuration) { _, _, port in
            let client = try TestHTTPClient(port: port)
            let body = [UInt8](repeating: UInt8(ascii: "x"), count: Self.limit)
            let response = try client.request(method: "POST", path: "/async", body: body)
            #expect(response.status == 202 && response.body == body)
        }
    }

    @Test func announcedOversizedBodyGets413BeforeItIsSent() throws {
        try withTestServer(configuration) { _, handler, port in
            let client = try TestHTTPClient(port: port)
            // Only the head is sent: the answer must not wait for the body.
            try client.sendRequest(method: "POST", path: "/echo", headers: [("Content-Length", "\(Self.limit + 1)")])
            let response = try client.readResponse()
            #expect(response.status == 413)
            #expect(response.header("content-type") == "application/json")
            let json = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: String]
            #expect(json?["error"]?.contains("\(Self.limit)") == true)
            #expect(handler.handledCount == 0)
            try expectStillServing(port)
        }
    }

    @Test func expectContinueWithOversizedBodyGets413() throws {
        try withTestServer(configuration) { _, _, port in
            let client = try TestHTTPClient(port: port)
            try client.sendRequest(method: "POST", path: "/echo",
                                   headers: [("Content-Length", "999999999999"), ("Expect", "100-continue")])
            #expect(try client.readResponse().status == 413)
        }
    }

    @Test func absurdContentLengthIsRejected() throws {
        try withTestServer(configuration) { _, handler, port in
            for length in ["99999999999999999999999999", "-1", "12abc", "1, 2"] {
                let client = try TestHTTPClient(port: port)
                try client.sendRequest(method: "POST", path: "/echo", headers: [("Content-Length", length)])
                expectRejected(client, allowed: [400, 413])
            }
            #expect(handler.handledCount == 0)
            try expectStillServing(port)
        }
    }

    @Test func chunkedBodyCrossingTheLimitGets413() throws {
        try withTestServer(configuration) { _, handler, port in
            let client = try TestHTTPClient(port: port)
            let chunk = [UInt8](repeating: UInt8(ascii: "y"), count: Self.limit / 2 + 10)
            try client.sendChunkedRequest(path: "/echo", chunks: [chunk, chunk])
            let response = try client.readResponse()
            #expect(response.status == 413)
            #expect(response.bodyText.contains("\"error\""))
            #expect(handler.handledCount == 0)
            try expectStillServing(port)
        }
    }

    @Test func endlessChunkedBodyIsCutOff() throws {
        try withTestServer(configuration) { _, handler, port in
            let client = try TestHTTPClient(port: port)
            try client.sendRequest(method: "POST", path: "/echo", headers: [("Transfer-Encoding", "chunked")])
            let chunk = [UInt8](repeating: UInt8(ascii: "z"), count: 64 * 1024)
            // Far more than the limit plus the drain allowance: the server must give up on the
            // connection (the send fails) instead of reading, let alone buffering, all of it.
            var sent = 0
            do {
                while sent < 64 * 1024 * 1024 {
                    try client.sendChunk(chunk)
                    sent += chunk.count
                }
                Issue.record("the server read 64 MiB of a body limited to \(Self.limit) bytes")
            } catch TestHTTPClientError.sendFailed {
                // Connection reset by the server.
            }
            #expect(handler.handledCount == 0)
            try expectStillServing(port)
        }
    }

    @Test func malformedRequestLinesAreRejected() throws {
        let garbage: [[UInt8]] = [
            Array("GARBAGE\r\n\r\n".utf8),
            Array("GET\r\n\r\n".utf8),
            Array("GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n".utf8),
            Array("GET / FTP/1.0\r\nHost: x\r\n\r\n".utf8),
            Array("GET / HTTP/1.1\r\nNo colon here\r\nHost: x\r\n\r\n".utf8),
            [0x00, 0x01, 0x02, 0xff, 0xfe, 0x0d, 0x0a, 0x0d, 0x0a],
            Array("\r\n\r\n\r\n\r\n".utf8) + Array("GE\u{7f}T /\r\n\r\n".utf8),
            (0..<4096).map { _ in UInt8.random(in: 0...255) } + Array("\r\n\r\n".utf8),
        ]
        // Some garbage MHD neither answers nor closes at once (it waits for more of the line):
        // the connection timeout must then end it.
        var configuration = configuration
        configuration.connectionTimeoutSeconds = 2
        try withTestServer(configuration) { _, handler, port in
            for bytes in garbage {
                let client = try TestHTTPClient(port: port)
                try? client.send(bytes)
                expectRejected(client, allowed: Set(400..<600))
            }
            #expect(handler.handledCount == 0)
            try expectStillServing(port)
        }
    }

    @Test func hugeHeadersAreRejected() throws {
        try withTestServer(configuration) { _, handler, port in
            let huge = String(repeating: "h", count: 200 * 1024)
            let oneHeader = try TestHTTPClient(port: port)
            try? oneHeader.sendRequest(path: "/echo", headers: [("X-Huge", huge)])
            expectRejected(oneHeader, allowed: [400, 413, 414, 431])

            let manyHeaders = try TestHTTPClient(port: port)
            try? manyHeaders.sendRequest(path: "/echo", headers: (0..<5000).map { ("X-H\($0)", "v") })
            expectRejected(manyHeaders, allowed: [400, 413, 414, 431])

            let longURL = try TestHTTPClient(port: port)
            try? longURL.sendRequest(path: "/echo?q=" + huge)
            expectRejected(longURL, allowed: [400, 413, 414, 431])
            #expect(handler.handledCount == 0)
            try expectStillServing(port)
        }
    }

    @Test func clientDisconnectingMidBodyDoesNotReachTheHandler() throws {
        try withTestServer(configuration) { _, handler, port in
            let closing = try TestHTTPClient(port: port)
            try closing.sendRequest(method: "POST", path: "/echo", headers: [("Content-Length", "1000")])
            try closing.send([UInt8](repeating: 1, count: 100))
            closing.close()

            let resetting = try TestHTTPClient(port: port)
            try resetting.sendChunkedRequest(path: "/echo", chunks: [])  // a complete empty request first...
            _ = try resetting.readResponse()
            try resetting.sendRequest(method: "POST", path: "/echo", headers: [("Transfer-Encoding", "chunked")])
            try resetting.sendChunk([UInt8](repeating: 2, count: 300))  // ...then an unfinished one
            resetting.reset()

            try expectStillServing(port)
            // The empty request and the final check reached the application; the abandoned ones did not.
            #expect(handler.handledCount == 2)
        }
    }

    @Test func clientDisconnectingBeforeTheAnswerIsHarmless() throws {
        try withTestServer(configuration) { _, handler, port in
            let client = try TestHTTPClient(port: port)
            try client.sendRequest(path: "/hold")
            let held = try #require(handler.waitForHeld())
            client.reset()
            // Answering a request whose client has gone must neither crash nor wedge the server.
            held.respond(HTTPResponse(status: 200, body: Array("too late".utf8)))
            held.respond(HTTPResponse(status: 200, body: Array("twice".utf8)))
            try expectStillServing(port)
        }
    }

    @Test func idleConnectionsTimeOut() throws {
        try withTestServer(HTTPServerConfiguration(connectionTimeoutSeconds: 1)) { _, _, port in
            let client = try TestHTTPClient(port: port)
            try client.send("GET /echo HTTP/1.1\r\n")  // never finished
            // The server must close it on its own (the client waits up to 20 s, far above 1 s).
            #expect(try client.waitForClose())
            try expectStillServing(port)
        }
    }
}
