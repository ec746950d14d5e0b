import Foundation
import Testing
@testable import DyServe

/// Connection-level limits: deadlines for the header and the body, behaviour at max_connections,
/// the per-address limit.
@Suite struct HTTPServerConnectionTests {
    /// Sends one byte every 0.3 s until the server cuts the connection; returns the bytes sent
    /// (nil if the server never did within `maxBytes`).
    private func drip(_ client: TestHTTPClient, maxBytes: Int = 40) -> Int? {
        for sent in 0..<maxBytes {
            do {
                try client.send("a")
            } catch {
                return sent
            }
            Thread.sleep(forTimeInterval: 0.3)
        }
        return nil
    }

    @Test func aClientDrippingItsHeaderIsCutOffAtTheHeaderDeadline() throws {
        let configuration = HTTPServerConfiguration(connectionTimeoutSeconds: 0, headerTimeoutSeconds: 1)
        try withTestServer(configuration) { _, handler, port in
            let slow = try TestHTTPClient(port: port)
            try slow.send("GET /echo HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            #expect(drip(slow) != nil, "the dripping client was never cut off")
            #expect(handler.handledCount == 0)
            #expect(try TestHTTPClient(port: port).request(path: "/status?code=204").status == 204)
        }
    }

    @Test func aStalledBodyIsCutOffAtTheBodyDeadline() throws {
        let configuration = HTTPServerConfiguration(connectionTimeoutSeconds: 0, bodyTimeoutSeconds: 1)
        try withTestServer(configuration) { _, handler, port in
            let slow = try TestHTTPClient(port: port)
            try slow.sendRequest(method: "POST", path: "/echo", headers: [("Content-Length", "1000")])
            #expect(drip(slow) != nil, "the dripping upload was never cut off")
            #expect(handler.handledCount == 0)
        }
    }

    @Test func requestsWithinTheDeadlinesAndLongHandlingAreUnaffected() throws {
        let configuration = HTTPServerConfiguration(connectionTimeoutSeconds: 0, headerTimeoutSeconds: 1,
                                                    bodyTimeoutSeconds: 1)
        try withTestServer(configuration) { _, handler, port in
            let client = try TestHTTPClient(port: port)
            for i in 0..<3 {
                let r = try client.request(method: "POST", path: "/echo", body: Array("n\(i)".utf8))
                #expect(try decodeEcho(r).body == "n\(i)")
            }
            // The application may take longer than both deadlines.
            try client.sendRequest(path: "/hold")
            let held = try #require(handler.waitForHeld())
            Thread.sleep(forTimeInterval: 2.5)
            held.respond(HTTPResponse(status: 200, body: Array("late".utf8)))
            #expect(try client.readResponse().bodyText == "late")
            // An idle keep-alive connection is closed after the header deadline.
            client.setTimeout(seconds: 10)
            #expect(try client.waitForClose())
        }
    }

    /// At max_connections the server stops accepting: a further client is not refused but waits
    /// in the listen backlog and is served once a connection closes.
    @Test func atMaxConnectionsFurtherClientsWaitUntilOneCloses() throws {
        let configuration = HTTPServerConfiguration(maxConnections: 2, connectionTimeoutSeconds: 0)
        try withTestServer(configuration) { _, _, port in
            let first = try TestHTTPClient(port: port)
            let second = try TestHTTPClient(port: port)
            #expect(try first.request(path: "/status?code=204").status == 204)
            #expect(try second.request(path: "/status?code=204").status == 204)
            let waiting = try TestHTTPClient(port: port, timeoutSeconds: 2)
            try waiting.sendRequest(path: "/status?code=203")
            #expect(throws: TestHTTPClientError.self) { _ = try waiting.readResponse() }
            first.close()
            waiting.setTimeout(seconds: 20)
            #expect(try waiting.readResponse().status == 203)
        }
    }

    @Test func connectionsBeyondThePerAddressLimitAreClosed() throws {
        let configuration = HTTPServerConfiguration(connectionTimeoutSeconds: 0, maxConnectionsPerIP: 2)
        try withTestServer(configuration) { _, _, port in
            let first = try TestHTTPClient(port: port)
            let second = try TestHTTPClient(port: port)
            #expect(try first.request(path: "/status?code=204").status == 204)
            #expect(try second.request(path: "/status?code=204").status == 204)
            let third = try TestHTTPClient(port: port, timeoutSeconds: 10)
            try? third.sendRequest(path: "/status?code=204")
            #expect(try third.waitForClose())
            first.close()
            var served = false
            for _ in 0..<50 where !served {
                served = (try? TestHTTPClient(port: port).request(path: "/status?code=204").status) == 204
                if !served { Thread.sleep(forTimeInterval: 0.1) }
            }
            #expect(served)
        }
    }
}
