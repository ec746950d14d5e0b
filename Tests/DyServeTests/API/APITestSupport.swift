import Dispatch
import DyNN
import Foundation
import Testing
@testable import DyServe

/// A handler over test models, and a way to call it synchronously.
struct APIHarness {
    let handler: APIHandler
    let context: ServiceContext
    let pool: WorkerPoolExecutor?

    init(models: [String: any ServableModel] = ["test": TestModel()], limits: APILimits = APILimits(),
         store: TraceStoreLimits = TraceStoreLimits(), executor: (any InferenceExecutor)? = nil,
         registry: ModelRegistry? = nil, repository: ModelRepository? = nil, attentionDrift: Bool = true) {
        let registry = registry ?? ModelRegistry(models: models)
        let pool = executor == nil ? WorkerPoolExecutor(threads: 2) : nil
        self.pool = pool
        context = ServiceContext(
            registry: registry, executor: executor ?? pool!, traces: TraceStore(limits: store),
            metrics: ServiceMetrics(modelNames: registry.names, attentionDrift: attentionDrift), limits: limits, repository: repository,
            readNpy: { try BinaryInferRequestDecoder.decodeRawFP32($0, shape: [1, 1, 2, 2], maxElements: .max) })
        handler = APIHandler(context: context)
    }

    /// Calls `handle` and waits for the single response (a hang guard, not a timing assertion).
    func call(_ request: HTTPRequest) -> HTTPResponse {
        let box = ResponseBox()
        handler.handle(request) { box.put($0) }
        return box.wait()
    }

    func post(_ json: String, path: String = "/infer") -> HTTPResponse {
        call(HTTPRequest(method: "POST", path: path, headers: ["content-type": "application/json"], body: Array(json.utf8)))
    }

    func get(_ path: String, query: [String: String] = [:]) -> HTTPResponse {
        call(HTTPRequest(method: "GET", path: path, query: query))
    }
}

/// Collects exactly one response; records an issue on a second call.
final class ResponseBox: @unchecked Sendable {
    private let lock = NSLock()
    private let done = DispatchSemaphore(value: 0)
    private var responses: [HTTPResponse] = []

    func put(_ r: HTTPResponse) {
        let count = lock.withLock { responses.append(r); return responses.count }
        if count > 1 { Issue.record("respond called \(count) times") }
        done.signal()
    }

    /// True once a response arrived (without waiting).
    var isAnswered: Bool { lock.withLock { !responses.isEmpty } }

    func wait() -> HTTPResponse {
        guard done.wait(timeout: .now() + 30) == .success else {
            Issue.record("no response within 30 s")
            return HTTPResponse(status: 0)
        }
        return lock.withLock { responses[0] }
    }
}

extension HTTPResponse {
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
    }

    var text: String { String(decoding: body, as: UTF8.self) }

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    var errorMessage: String { json["error"] as? String ?? "" }
}

func littleEndian(_ values: [Float]) -> [UInt8] {
    values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
}
