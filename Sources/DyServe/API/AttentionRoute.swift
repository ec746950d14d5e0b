/// `GET /attention?id=ID`: one recent request's trace; `GET /attention[?limit=N]`: the most
/// recent requests, newest first.
struct AttentionRoute: Sendable {
    let context: ServiceContext

    func handle(_ request: HTTPRequest) throws(RequestError) -> HTTPResponse {
        for key in request.query.keys where key != "id" && key != "limit" {
            throw .badRequest("unknown query parameter \"\(key)\"; expected id or limit")
        }
        if let id = request.query["id"] {
            guard let record = context.traces.record(id: id) else {
                throw .notFound("no trace for request id \"\(id)\": unknown, expired, or not traced")
            }
            return HTTPResponse.json(TraceEncoder.encode(record))
        }
        var limit = min(50, context.limits.maxListedTraces)
        if let text = request.query["limit"] {
            guard let n = Int(text), n >= 1 else {
                throw .badRequest("limit must be a positive integer, got \"\(text)\"")
            }
            limit = min(n, context.limits.maxListedTraces)
        }
        return HTTPResponse.json(TraceEncoder.encodeList(context.traces.recent(limit: limit)))
    }
}
