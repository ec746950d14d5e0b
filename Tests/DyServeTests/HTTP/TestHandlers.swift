import Foundation
@testable import DyServe

/// What `/echo` sends back, so tests can check what the server handed to the application.
struct EchoedRequest: Codable, Equatable {
    var method: String
    var path: String
    var query: [String: String]
    var headers: [String: String]
    var body: String
}

/// A request the test handler parked without answering, with its `respond`.
struct HeldRequest: Sendable {
    var request: HTTPRequest
    var respond: @Sendable (HTTPResponse) -> Void
}

/// The application used by the server tests. Routes:
/// - `/echo`: 200 with the request as JSON (`EchoedRequest`) and header `X-Echo: yes`.
/// - `/async`: answers from another thread a moment later, with the body echoed back.
/// - `/hold`: parks the request (see `waitForHeld`); the test answers it or stops the server.
/// - `/status?code=N`: an empty response with status N.
/// - `/header?value=V`: an empty response with header `X-Value: V` (then `X-After: ok`).
/// - `/bytes?n=N`: N bytes of body (a repeating pattern).
final class TestHandler: HTTPHandler, @unchecked Sendable {
    private let lock = NSLock()
    private var handled = 0
    private var held: [HeldRequest] = []
    private let heldSignal = DispatchSemaphore(value: 0)

    /// How many requests reached the application.
    var handledCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return handled
    }

    /// Waits until a `/hold` request has arrived and returns it (nil after 20 s: a failure, not a timing check).
    func waitForHeld() -> HeldRequest? {
        guard heldSignal.wait(timeout: .now() + 20) == .success else { return nil }
        lock.lock()
        defer { lock.unlock() }
        return held.isEmpty ? nil : held.removeFirst()
    }

    func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        lock.lock()
        handled += 1
        lock.unlock()
        switch request.path {
        case "/echo":
            let echoed = EchoedRequest(method: request.method, path: request.path, query: request.query,
                                       headers: request.headers, body: String(decoding: request.body, as: UTF8.self))
            let body = (try? JSONEncoder().encode(echoed)).map { Array($0) } ?? []
            respond(HTTPResponse(status: 200, headers: [("Content-Type", "application/json"), ("X-Echo", "yes")],
                                 body: body))
        case "/async":
            let body = request.body
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(5)) {
                respond(HTTPResponse(status: 202, headers: [("X-Thread", "other")], body: body))
            }
        case "/hold":
            lock.lock()
            held.append(HeldRequest(request: request, respond: respond))
            lock.unlock()
            heldSignal.signal()
        case "/status":
            respond(HTTPResponse(status: Int(request.query["code"] ?? "") ?? 200))
        case "/header":
            respond(HTTPResponse(status: 200, headers: [("X-Value", request.query["value"] ?? ""), ("X-After", "ok")]))
        case "/bytes":
            let count = Int(request.query["n"] ?? "") ?? 0
            respond(HTTPResponse(status: 200, body: (0..<count).map { UInt8(truncatingIfNeeded: $0 % 251) }))
        default:
            respond(HTTPResponse(status: 404, body: Array("no route \(request.path)".utf8)))
        }
    }
}

/// Runs `body` against a server on an ephemeral port of 127.0.0.1, stopping it afterwards.
func withTestServer<T>(_ configuration: HTTPServerConfiguration = HTTPServerConfiguration(),
                       _ body: (HTTPServer, TestHandler, Int) throws -> T) throws -> T {
    let handler = TestHandler()
    let server = HTTPServer(configuration: configuration, handler: handler)
    try server.start(host: "127.0.0.1", port: 0)
    defer { server.stop() }
    guard let port = server.boundPort, port > 0 else { throw TestHTTPClientError.connectFailed("no bound port") }
    return try body(server, handler, port)
}

func decodeEcho(_ response: TestHTTPResponse) throws -> EchoedRequest {
    try JSONDecoder().decode(EchoedRequest.self, from: Data(response.body))
}
