/// `POST /v2/repository/index`, `.../models/{m}/load` and `.../unload`: decode the call, hand it to
/// the service's `ModelRepository`, encode the answer. Load and unload answer once done (a load
/// once the new version serves, an unload once the model's admitted requests are answered), from
/// the repository's thread, never holding up the server's.
struct V2RepositoryCalls: Sendable {
    let context: ServiceContext

    private func repository() throws(RequestError) -> ModelRepository {
        guard let repository = context.repository else {
            throw .notFound("the model repository is not enabled on this server")
        }
        return repository
    }

    func index(_ request: HTTPRequest) throws(RequestError) -> HTTPResponse {
        let repository = try repository()
        let readyOnly = try V2RepositoryRoutes.decodeIndexRequest(request.body, maxDepth: context.limits.maxJSONDepth)
        let entries = repository.index().filter { !readyOnly || $0.state == "READY" }
        return HTTPResponse.json(V2RepositoryRoutes.encodeIndex(entries))
    }

    func loadOrUnload(_ route: V2Route, model: String, request: HTTPRequest, id: String,
                      respond: @escaping @Sendable (HTTPResponse) -> Void) {
        let loading = if case .repositoryLoad = route { true } else { false }
        let repository: ModelRepository
        do throws(RequestError) {
            repository = try self.repository()
            try V2RepositoryRoutes.checkLoadOrUnloadRequest(request.body, maxDepth: context.limits.maxJSONDepth, unloading: !loading)
        } catch {
            return respond(error.response(id: id))
        }
        let done: @Sendable (RequestError?) -> Void = { error in
            if let error { return respond(error.response(id: id)) }
            respond(HTTPResponse.json(V2RepositoryRoutes.encodeState(name: model, state: loading ? "READY" : "UNAVAILABLE")))
        }
        if loading {
            repository.load(model, completion: done)
        } else {
            repository.unload(model, completion: done)
        }
    }
}
