import Dispatch
import DyNN
import Logging

/// The service's `HTTPHandler`, its front door: routes each request (`/v2/...` to `V2API`, the
/// explorer's files to `ExplorerRoute`, the rest through `Router`), turns thrown `RequestError`s
/// into JSON error responses, counts every response, and keeps inference (and the decoding of
/// large bodies) off the server's thread through `InferencePipeline` and `BodyDecoding`.
public final class APIHandler: HTTPHandler {
    public let context: ServiceContext

    /// Where /attention, /models and /metrics answers are built: serial, so that clients fetching
    /// large traces in a loop take one core at most and hold one answer under construction at a
    /// time (the response budget bounds those already built).
    private let introspectionQueue = DispatchQueue(label: "dyserve.introspection", qos: .utility)

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
            return V2API(context: context).handle(request, id: id, started: started, respond: respond)
        }
        // The attention explorer page and its files (Sources/DyServe/Explorer).
        if ExplorerRoute.owns(request.path) {
            let finish = CountedResponse.responder(route: "explorer", id: id, metrics: metrics, respond: respond)
            do {
                return finish(try ExplorerRoute.handle(request))
            } catch {
                return finish(error.response(id: id))
            }
        }
        let route: Route
        do {
            route = try Router.match(method: request.method, path: request.path)
        } catch {
            metrics.countHTTP(route: "unmatched", code: error.status)
            return respond(error.response(id: id))
        }
        let finish = CountedResponse.responder(route: route.metricName, id: id, metrics: metrics, respond: respond)
        switch route {
        case .infer:
            let infer = InferRoute(context: context)
            BodyDecoding.run(request, octetStreamIsRawTensor: true) {
                do throws(RequestError) {
                    try infer.handle(request, id: id, started: started, respond: finish)
                } catch {
                    finish(error.response(id: id))
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
            finish(error.response(id: id))
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
}
