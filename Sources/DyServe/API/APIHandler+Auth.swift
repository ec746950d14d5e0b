extension APIHandler {
    /// The request with the scopes its key grants, or nil after answering the refusal (401, 400
    /// or 403, counted under route `unauthorized`). The one call `handle` makes to the gate.
    func admitted(_ request: HTTPRequest, id: String, respond: @Sendable (HTTPResponse) -> Void) -> HTTPRequest? {
        var request = request
        do {
            request.apiKeyScopes = try context.auth.authorize(
                request, requirement: context.auth.policy.requirement(method: request.method, path: request.path))
            return request
        } catch {
            context.metrics.countHTTP(route: "unauthorized", code: error.status)
            respond(error.response(id: id))
            return nil
        }
    }
}
