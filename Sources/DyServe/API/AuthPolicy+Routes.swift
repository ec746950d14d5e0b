/// Which requirement each endpoint has: the route -> scope table. Every route of both APIs and
/// the explorer is named in an exhaustive switch, so a new route does not compile until it is
/// given a requirement here; a path no route matches needs `admin`, so a forgotten or misspelt
/// endpoint is never open (and the 404 listing the endpoints is only shown to administrators).
extension AuthPolicy {
    /// What a request for `path` needs. The method only serves to find the route: a path that
    /// exists for another method gets that route's requirement (its 405 comes after the key check).
    public func requirement(method: String, path: String) -> AuthRequirement {
        // Same order as APIHandler's dispatch: /v2, then the explorer, then the simple API.
        if V2Route.owns(path) {
            guard let route = Self.firstMatch(method, { m throws(RequestError) in try V2Route.match(method: m, path: path) }) else {
                return .scope(.admin)
            }
            return requirement(route)
        }
        if ExplorerRoute.owns(path) {
            return explorer
        }
        guard let route = Self.firstMatch(method, { m throws(RequestError) in try Router.match(method: m, path: path) }) else {
            return .scope(.admin)
        }
        return requirement(route)
    }

    func requirement(_ route: Route) -> AuthRequirement {
        switch route {
        case .healthz, .readyz: .open
        case .infer: .scope(.inference)
        case .attention: .scope(.introspection)
        // The contract describes the service as the model list does: with keys, only health is open.
        case .models, .openapi: metadata
        case .metrics: metrics
        }
    }

    func requirement(_ route: V2Route) -> AuthRequirement {
        switch route {
        case .live, .ready: .open
        case .infer: .scope(.inference)
        case .serverMetadata, .modelMetadata, .modelReady, .modelConfig: metadata
        case .statistics: metrics
        case .repositoryIndex, .repositoryLoad, .repositoryUnload: .scope(.admin)
        }
    }

    /// The route for `method`, else for whichever method the path does answer.
    private static func firstMatch<R>(_ method: String, _ match: (String) throws(RequestError) -> R) -> R? {
        for candidate in [method, "GET", "POST"] {
            if let route = try? match(candidate) { return route }
        }
        return nil
    }
}
