import Foundation
import Testing
@testable import DyServe

@Suite struct HTTPServerLifecycleTests {
    @Test func stopWithARequestInFlightAnswers503AndCancels() throws {
        let handler = TestHandler()
        let server = HTTPServer(configuration: HTTPServerConfiguration(), handler: handler)
        try server.start(host: "127.0.0.1", port: 0)
        let port = try #require(server.boundPort)

        let client = try TestHTTPClient(port: port)
        try client.sendRequest(path: "/hold")
        let held = try #require(handler.waitForHeld())
        #expect(!held.request.context.isCancelled)
        let cancelled = LockedCounter()
        held.request.context.onCancel { cancelled.increment() }

        server.stop()  // must return although the application never answered

        #expect(held.request.context.isCancelled)
        #expect(cancelled.value == 1)
        do {
            let response = try client.readResponse()
            #expect(response.status == 503)
            // The same style as the application's 503s: JSON error and Retry-After.
            #expect(response.header("retry-after") == "1")
            #expect(response.header("content-type") == "application/json")
            #expect(response.bodyText.contains("\"error\""))
        } catch TestHTTPClientError.closed {
            // Closed before the 503 went out: also a clean shutdown.
        }
        // The application answering after the stop is ignored.
        held.respond(HTTPResponse(status: 200))
        #expect(server.boundPort == nil)
        #expect(throws: TestHTTPClientError.self) { _ = try TestHTTPClient(port: port).request(path: "/echo") }
    }

    @Test func stopWithManyRequestsInFlight() throws {
        let handler = TestHandler()
        let server = HTTPServer(configuration: HTTPServerConfiguration(), handler: handler)
        try server.start(host: "127.0.0.1", port: 0)
        let port = try #require(server.boundPort)
        let clients = try (0..<10).map { _ in try TestHTTPClient(port: port) }
        var held: [HeldRequest] = []
        for client in clients {
            try client.sendRequest(path: "/hold")
            held.append(try #require(handler.waitForHeld()))
        }
        // Half are answered just before the stop, half are left to the stop.
        for request in held.prefix(5) { request.respond(HTTPResponse(status: 200)) }
        server.stop()
        for request in held.suffix(5) { #expect(request.request.context.isCancelled) }
        for request in held { request.respond(HTTPResponse(status: 200)) }
    }

    /// Requests keep arriving and being answered from other threads while the server stops: the
    /// suspends, resumes and the stop's 503s race. Every request gets an answer or a closed
    /// connection (never a hang), and `stop` returns.
    @Test func stopWhileRequestsArriveAndAreAnswered() throws {
        for _ in 0..<5 {
            let server = HTTPServer(configuration: HTTPServerConfiguration(), handler: TestHandler())
            try server.start(host: "127.0.0.1", port: 0)
            let port = try #require(server.boundPort)
            let statuses = StatusLog()
            let group = DispatchGroup()
            for _ in 0..<4 {
                // Threads of their own: blocked clients on Dispatch's few pool threads would starve
                // the handler's answers, which run there too.
                group.enter()
                Thread {
                    defer { group.leave() }
                    guard let client = try? TestHTTPClient(port: port) else { return }
                    for _ in 0..<1000 {
                        // A closed connection or a timeout is how the stop may end a request.
                        guard let response = try? client.request(method: "POST", path: "/async", body: [1]) else { return }
                        statuses.add(response.status)
                        if response.status != 202 { return }
                    }
                }.start()
            }
            // Stop once requests are flowing (however slow the machine).
            let flowing = Date(timeIntervalSinceNow: 20)
            while statuses.all.count < 8 && Date() < flowing { usleep(1_000) }
            #expect(statuses.all.count >= 8)
            server.stop()
            #expect(group.wait(timeout: .now() + 30) == .success)
            #expect(statuses.all.allSatisfy { $0 == 202 || $0 == 503 })
        }
    }

    @Test func answeredRequestIsNotCancelled() throws {
        try withTestServer { _, handler, port in
            let client = try TestHTTPClient(port: port)
            try client.sendRequest(path: "/hold")
            let held = try #require(handler.waitForHeld())
            held.respond(HTTPResponse(status: 201, headers: [("X-Late", "1")], body: Array("done".utf8)))
            let response = try client.readResponse()
            #expect(response.status == 201 && response.header("x-late") == "1" && response.bodyText == "done")
            #expect(!held.request.context.isCancelled)
        }
    }

    @Test func deinitStopsTheServer() throws {
        var port = 0
        do {
            let server = HTTPServer(configuration: HTTPServerConfiguration(), handler: TestHandler())
            try server.start(host: "127.0.0.1", port: 0)
            port = try #require(server.boundPort)
            #expect(try TestHTTPClient(port: port).request(path: "/echo").status == 200)
        }
        #expect(throws: TestHTTPClientError.self) { _ = try TestHTTPClient(port: port).request(path: "/echo") }
    }
}

/// Statuses seen by several client threads.
private final class StatusLog: @unchecked Sendable {
    private let lock = NSLock()
    private var statuses: [Int] = []

    func add(_ status: Int) { lock.withLock { statuses.append(status) } }
    var all: [Int] { lock.withLock { statuses } }
}
