/// Every answer of the service passes through here once: counted in `dyserve_http_requests_total`
/// under its route's fixed label and tagged with the request id.
enum CountedResponse {
    /// Wraps `respond` so the answer is counted under `route` and carries `X-Request-Id`.
    static func responder(route: String, id: String, metrics: ServiceMetrics,
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
}
