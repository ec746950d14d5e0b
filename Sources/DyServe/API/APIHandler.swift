import Dispatch
import DyNN
import Logging

/// The service's `HTTPHandler`: routes each request, turns thrown `RequestError`s into JSON
/// error responses, counts every response, and keeps inference (and the decoding of large bodies)
/// off the server's thread: the model runs on the executor, large bodies are decoded on a
/// dispatch queue.
public final class APIHandler: HTTPHandler {
    public let context: ServiceContext
    /// Where large inference bodies are decoded: concurrent, so one large JSON body does not hold
    /// up the HTTP thread or other requests.
    private let decodeQueue = DispatchQueue(label: "dyserve.decode", qos: .userInitiated, attributes: .concurrent)

    /// Bodies up to this size are decoded on the calling (HTTP) thread: decoding a small body costs
    /// less than handing it to another thread and waking that thread (one context switch fewer per
    /// request); larger bodies go to `decodeQueue`.
    static let inlineDecodeMaxBytes = 16 << 10

    /// Where /attention, /models and /metrics answers are built: serial, so that clients fetching
    /// large traces in a loop take one core at most and hold one answer under construction at a
    /// time (the response budget bounds those already built).
    private let introspectionQueue = DispatchQueue(label: "dyserve.introspection", qos: .utility)

    /// Runs `work` now when the request's body is small and not compressed (a small gzip body
    /// may inflate to the body limit), else on the decode queue.
    func decode(_ request: HTTPRequest, _ work: @escaping @Sendable () -> Void) {
        if request.body.count <= Self.inlineDecodeMaxBytes && request.headers["content-encoding"] == nil {
            work()
        } else {
            decodeQueue.async(execute: work)
        }
    }

    public init(context: ServiceContext) {
        self.context = context
    }

    public func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        let started = DispatchTime.now().uptimeNanoseconds
        let id = RequestID.make()
        let metrics = context.metrics
        // API keys (Sources/DyServe/Auth): a refused request is answered here and reaches no route.
        guard let request = admitted(request, id: id, respond: respond) else { return }
        // The Open Inference Protocol lives under /v2 with its own routes (Sources/DyServe/V2).
        if V2Route.owns(request.path) {
            return V2API(context: context, handler: self).handle(request, id: id, started: started, respond: respond)
        }
        // The attention explorer page and its files (Sources/DyServe/Explorer).
        if ExplorerRoute.owns(request.path) {
            let finish = Self.counting(route: "explorer", id: id, metrics: metrics, respond: respond)
            do {
                return finish(try ExplorerRoute.handle(request))
            } catch {
                return finish(Self.errorResponse(error, id: id))
            }
        }
        let route: Route
        do {
            route = try Router.match(method: request.method, path: request.path)
        } catch {
            metrics.countHTTP(route: "unmatched", code: error.status)
            return respond(Self.errorResponse(error, id: id))
        }
        let finish = Self.counting(route: route.metricName, id: id, metrics: metrics, respond: respond)
        switch route {
        case .infer:
            let infer = InferRoute(context: context)
            decode(request) {
                do throws(RequestError) {
                    try infer.handle(request, id: id, started: started, respond: finish)
                } catch {
                    finish(Self.errorResponse(error, id: id))
                }
            }
        case .healthz, .readyz, .openapi:
            answer(route, request, id: id, finish: finish)
        case .attention, .models, .metrics:
            // Their answers grow with the stored traces and models (a big trace is tens of MB of
            // JSON): built off the server's thread so probes and inference are never held up.
            introspectionQueue.async { [self] in answer(route, request, id: id, finish: finish) }
        }
    }

    private func answer(_ route: Route, _ request: HTTPRequest, id: String,
                        finish: @Sendable (HTTPResponse) -> Void) {
        do {
            finish(try respond(route, request))
        } catch {
            finish(Self.errorResponse(error, id: id))
        }
    }

    /// The answer of every route but /infer.
    private func respond(_ route: Route, _ request: HTTPRequest) throws(RequestError) -> HTTPResponse {
        switch route {
        case .attention:
            return try AttentionRoute(context: context).handle(request)
        case .healthz:
            return HealthRoutes.live()
        case .readyz:
            return HealthRoutes.ready(context.registry)
        case .models:
            return ModelsRoute(registry: context.registry).handle()
        case .metrics:
            let body = context.metrics.render(store: context.traces, ready: context.registry.readiness().ready)
            return HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")], body: body)
        case .openapi:
            return OpenAPIDocument.response()
        case .infer:
            throw .internalError("/infer is answered asynchronously")
        }
    }

    static func json(_ body: [UInt8], status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: body)
    }

    /// Wraps `respond` so every answer is counted under its route and carries the request id.
    static func counting(route: String, id: String, metrics: ServiceMetrics,
                         respond: @escaping @Sendable (HTTPResponse) -> Void) -> @Sendable (HTTPResponse) -> Void {
        return { response in
            metrics.countHTTP(route: route, code: response.status)
            var response = response
            if !response.headers.contains(where: { $0.name == "X-Request-Id" }) {
                response.headers.append(("X-Request-Id", id))
            }
            respond(response)
        }
    }

    static func errorResponse(_ error: RequestError, id: String) -> HTTPResponse {
        var response = error.response()
        response.headers.append(("X-Request-Id", id))
        return response
    }
}
