import Foundation
import Testing
@testable import DyServe

@Suite struct HTTPServerTests {
    @Test func getEchoesMethodPathAndHeaders() throws {
        try withTestServer { _, _, port in
            let client = try TestHTTPClient(port: port)
            let response = try client.request(path: "/echo", headers: [("X-Custom-Header", "Value 1")])
            #expect(response.status == 200)
            #expect(response.header("x-echo") == "yes")
            #expect(response.header("content-type") == "application/json")
            let echoed = try decodeEcho(response)
            #expect(echoed.method == "GET")
            #expect(echoed.path == "/echo")
            #expect(echoed.headers["x-custom-header"] == "Value 1")
            #expect(echoed.headers["host"] == "127.0.0.1:\(port)")
            #expect(echoed.headers.keys.allSatisfy { $0 == $0.lowercased() })
            #expect(echoed.body.isEmpty)
        }
    }

    @Test func repeatedHeadersAreJoined() throws {
        try withTestServer { _, _, port in
            let client = try TestHTTPClient(port: port)
            let response = try client.request(path: "/echo", headers: [("X-Twice", "a"), ("x-twice", "b")])
            #expect(try decodeEcho(response).headers["x-twice"] == "a, b")
        }
    }

    @Test func queryStringIsDecoded() throws {
        try withTestServer { _, _, port in
            let client = try TestHTTPClient(port: port)
            let response = try client.request(path: "/echo?a=1&b=hello%20world&c=x+y&a=2&empty=&flag&u=%C3%A9&pct=100%25")
            let echoed = try decodeEcho(response)
            #expect(echoed.path == "/echo")
            #expect(echoed.query == ["a": "2", "b": "hello world", "c": "x y", "empty": "", "flag": "", "u": "é",
                                     "pct": "100%"])
        }
    }

    @Test func pathIsPercentDecoded() throws {
        try withTestServer { _, _, port in
            let client = try TestHTTPClient(port: port)
            let response = try client.request(path: "/e%63ho?x=1")
            #expect(response.status == 200)
            #expect(try decodeEcho(response).path == "/echo")
        }
    }

    @Test func postBodyReachesTheHandler() throws {
        try withTestServer { _, _, port in
            let client = try TestHTTPClient(port: port)
            let body = Array("{\"input\": [1, 2, 3]}".utf8)
            let response = try client.request(method: "POST", path: "/echo",
                                              headers: [("Content-Type", "application/json")], body: body)
            let echoed = try decodeEcho(response)
            #expect(echoed.method == "POST")
            #expect(echoed.body == "{\"input\": [1, 2, 3]}")
            #expect(echoed.headers["content-length"] == "\(body.count)")
        }
    }

    @Test func chunkedBodyIsReassembled() throws {
        try withTestServer { _, _, port in
            let client = try TestHTTPClient(port: port)
            try client.sendChunkedRequest(path: "/echo", chunks: [Array("hello ".utf8), Array("chunked ".utf8),
                                                                  Array("world".utf8)])
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(try decodeEcho(response).body == "hello chunked world")
        }
    }

    @Test func bodyLargerThanOneReadArrivesWhole() throws {
        try withTestServer { _, _, port in
            let client = try TestHTTPClient(port: port)
            let body = (0..<300_000).map { _ in UInt8(ascii: "a") + UInt8.random(in: 0..<26) }
            let response = try client.request(method: "POST", path: "/async", body: body)
            #expect(response.status == 202)
            #expect(response.body == body)
        }
    }

    @Test func responseFromAnotherThreadIsDelivered() throws {
        try withTestServer { _, _, port in
            let client = try TestHTTPClient(port: port)
            let response = try client.request(method: "POST", path: "/async", body: Array("later".utf8))
            #expect(response.status == 202)
            #expect(response.header("x-thread") == "other")
            #expect(response.bodyText == "later")
        }
    }

    @Test func largeResponseBody() throws {
        try withTestServer { _, _, port in
            let client = try TestHTTPClient(port: port)
            let response = try client.request(path: "/bytes?n=1000000")
            #expect(response.status == 200)
            #expect(response.body.count == 1_000_000)
            #expect(response.body.enumerated().allSatisfy { $0.element == UInt8($0.offset % 251) })
        }
    }

    @Test func statusCodesPassThroughAndInvalidOnesBecome500() throws {
        try withTestServer { _, _, port in
            let client = try TestHTTPClient(port: port)
            #expect(try client.request(path: "/status?code=204").status == 204)
            #expect(try client.request(path: "/status?code=418").status == 418)
            #expect(try client.request(path: "/status?code=42").status == 500)
            #expect(try client.request(path: "/status?code=100000").status == 500)
            #expect(try client.request(path: "/nowhere").status == 404)
        }
    }

    @Test func headRequestGetsHeadersOnly() throws {
        try withTestServer { _, _, port in
            let client = try TestHTTPClient(port: port)
            let head = try client.request(method: "HEAD", path: "/bytes?n=500")
            #expect(head.status == 200)
            #expect(head.header("content-length") == "500")
            // The connection is still in step: no body bytes were sent after the head.
            #expect(try client.request(path: "/bytes?n=3").body == [0, 1, 2])
        }
    }

    @Test func applicationHeadersCannotInjectLines() throws {
        try withTestServer { _, _, port in
            let client = try TestHTTPClient(port: port)
            let response = try client.request(path: "/header?value=a%0D%0AX-Injected:%20yes")
            #expect(response.status == 200)
            #expect(response.header("x-injected") == nil)
            #expect(response.header("x-after") == "ok")
            #expect(try client.request(path: "/header?value=plain").header("x-value") == "plain")
        }
    }

    @Test func keepAliveServesManyRequestsOnOneConnection() throws {
        try withTestServer { _, handler, port in
            let client = try TestHTTPClient(port: port)
            for index in 0..<200 {
                let response = try client.request(method: "POST", path: "/echo?i=\(index)", body: Array("\(index)".utf8))
                let echoed = try decodeEcho(response)
                #expect(echoed.query["i"] == "\(index)" && echoed.body == "\(index)")
            }
            #expect(handler.handledCount == 200)
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        try withTestServer { _, _, port in
            let client = try TestHTTPClient(port: port)
            var bytes = ""
            for index in 0..<5 { bytes += "GET /echo?i=\(index) HTTP/1.1\r\nHost: x\r\n\r\n" }
            try client.send(bytes)
            for index in 0..<5 {
                #expect(try decodeEcho(client.readResponse()).query["i"] == "\(index)")
            }
        }
    }

    @Test func manySequentialConnections() throws {
        try withTestServer { _, _, port in
            for index in 0..<300 {
                let client = try TestHTTPClient(port: port)
                let response = try client.request(path: "/echo?i=\(index)", headers: [("Connection", "close")])
                #expect(try decodeEcho(response).query["i"] == "\(index)")
            }
        }
    }

    @Test func concurrentClients() throws {
        try withTestServer { _, handler, port in
            let failures = LockedCounter()
            let clients = 16, perClient = 40
            DispatchQueue.concurrentPerform(iterations: clients) { clientIndex in
                do {
                    let client = try TestHTTPClient(port: port)
                    for index in 0..<perClient {
                        let path = index % 2 == 0 ? "/echo" : "/async"
                        let body = Array("c\(clientIndex)-\(index)".utf8)
                        let response = try client.request(method: "POST", path: path, body: body)
                        let ok = path == "/echo" ? (try? decodeEcho(response).body) == String(decoding: body, as: UTF8.self)
                                                 : response.body == body
                        if !ok { failures.increment() }
                    }
                } catch {
                    failures.increment()
                }
            }
            #expect(failures.value == 0)
            #expect(handler.handledCount == clients * perClient)
        }
    }

    @Test func manySimultaneousOpenConnections() throws {
        try withTestServer { _, _, port in
            let clients = try (0..<100).map { _ in try TestHTTPClient(port: port) }
            for (index, client) in clients.enumerated().reversed() {
                try client.sendRequest(path: "/echo?i=\(index)")
            }
            for (index, client) in clients.enumerated() {
                #expect(try decodeEcho(client.readResponse()).query["i"] == "\(index)")
            }
        }
    }

    @Test func connectionLimitHoldsBackExtraConnections() throws {
        try withTestServer(HTTPServerConfiguration(maxConnections: 2)) { _, _, port in
            let first = try TestHTTPClient(port: port)
            let second = try TestHTTPClient(port: port)
            #expect(try first.request(path: "/echo").status == 200)
            #expect(try second.request(path: "/echo").status == 200)
            // At the limit MHD stops accepting: a third connection waits in the kernel's backlog
            // (or is refused) and gets no answer while the first two stay open...
            let third = try TestHTTPClient(port: port, timeoutSeconds: 2)
            try third.sendRequest(path: "/echo?third")
            #expect(throws: TestHTTPClientError.self) { _ = try third.readResponse() }
            // ...and is served once one of them goes away.
            first.close()
            third.setTimeout(seconds: 20)
            #expect(try decodeEcho(third.readResponse()).query["third"] == "")
        }
    }

    @Test func startReportsBoundPortAndRejectsBadStarts() throws {
        let server = HTTPServer(configuration: HTTPServerConfiguration(), handler: TestHandler())
        #expect(server.boundPort == nil)
        #expect(throws: HTTPServerError.invalidPort(70000)) { try server.start(host: "127.0.0.1", port: 70000) }
        try server.start(host: "127.0.0.1", port: 0)
        let port = try #require(server.boundPort)
        #expect(port > 0)
        #expect(throws: HTTPServerError.alreadyStarted) { try server.start(host: "127.0.0.1", port: 0) }

        let clash = HTTPServer(configuration: HTTPServerConfiguration(), handler: TestHandler())
        do {
            try clash.start(host: "127.0.0.1", port: port)
            Issue.record("second server bound the same port")
        } catch {
            guard case .startFailed(_, let failedPort, let reason) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(failedPort == port)
            #expect(reason == "bind failed: Address already in use", "\(reason)")
            #expect(error.description == "cannot listen on 127.0.0.1:\(port): bind failed: Address already in use")
        }
        server.stop()
        #expect(server.boundPort == nil)
        server.stop()  // a second stop is harmless
    }

    @Test func serverFromServiceConfig() throws {
        var config = ServiceConfig()
        config.limits.maxBodyBytes = 1234
        config.server.maxConnections = 7
        config.server.connectionTimeoutSeconds = 9
        let server = try HTTPServerConfiguration(config)
        #expect(server.maxBodyBytes == 1234 && server.maxConnections == 7 && server.connectionTimeoutSeconds == 9)
    }
}

/// A counter shared by concurrent test threads.
final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() {
        lock.lock()
        count += 1
        lock.unlock()
    }
    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }
}
