import Dispatch

/// Dispatches every `/v2` request: matches the route, answers the cheap ones at once, decodes
/// and runs inference off the server thread, turns thrown `RequestError`s into `{"error"}`, and
/// counts each response under a fixed route label.
struct V2API: Sendable {
    let context: ServiceContext

    func handle(_ request: HTTPRequest, id: String, started: UInt64, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        let metrics = context.metrics
        let route: V2Route
        do {
            route = try V2Route.match(method: request.method, path: request.path)
        } catch {
            metrics.countHTTP(route: "unmatched", code: error.status)
            return respond(error.response(id: id))
        }
        let finish = CountedResponse.responder(route: route.metricName, id: id, metrics: metrics, respond: respond)
        if case .infer(let model, let version) = route {
            let codec = V2InferCodec(request: request, modelName: model, modelVersion: version, limits: context.limits)
            let pipeline = InferencePipeline(context: context)
            BodyDecoding.run(request) {
                pipeline.run(codec, id: id, started: started, connection: request.context, respond: finish)
            }
            return
        }
        switch route {
        case .repositoryLoad(let model), .repositoryUnload(let model):
            return V2RepositoryCalls(context: context).loadOrUnload(route, model: model, request: request, id: id, respond: finish)
        default:
            break
        }
        do {
            finish(try respondNow(route, request))
        } catch {
            finish(error.response(id: id))
        }
    }

    private func respondNow(_ route: V2Route, _ request: HTTPRequest) throws(RequestError) -> HTTPResponse {
        let metadata = V2MetadataRoutes(registry: context.registry)
        switch route {
        case .serverMetadata: return metadata.server()
        case .live: return metadata.live()
        case .ready: return metadata.ready()
        case .modelMetadata(let m, let v): return try metadata.model(m, version: v)
        case .modelReady(let m, let v): return try metadata.modelReady(m, version: v)
        case .modelConfig(let m, let v):
            let model = try context.registry.model(named: m, version: v)
            return HTTPResponse.json(V2ModelConfigEncoder.encode(
                V2ModelConfig(model: model, scheduling: context.scheduling, cores: context.inferenceCores)))
        case .statistics(let m, let v):
            return try V2StatisticsRoute(registry: context.registry, statistics: context.statistics).handle(model: m, version: v)
        case .repositoryIndex:
            return try V2RepositoryCalls(context: context).index(request)
        case .infer, .repositoryLoad, .repositoryUnload:
            throw .internalError("\(route.metricName) is answered asynchronously")
        }
    }
}
