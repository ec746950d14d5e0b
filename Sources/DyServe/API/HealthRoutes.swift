/// `GET /healthz` (the process answers) and `GET /readyz` (every configured model is loaded and
/// no shutdown has begun; 503 with the reasons otherwise).
enum HealthRoutes {
    static func live() -> HTTPResponse {
        var w = JSONWriter()
        w.beginObject()
        w.key("status"); w.string("ok")
        w.endObject()
        return HTTPResponse.json(w.bytes)
    }

    static func ready(_ registry: ModelRegistry) -> HTTPResponse {
        let (ready, reasons) = registry.readiness()
        var w = JSONWriter()
        w.beginObject()
        w.key("ready"); w.bool(ready)
        if !ready {
            w.key("error"); w.string("not ready: " + reasons.joined(separator: "; "))
            w.key("reasons")
            w.beginArray()
            for r in reasons { w.string(r) }
            w.endArray()
        }
        w.endObject()
        return HTTPResponse(status: ready ? 200 : 503,
                            headers: [("Content-Type", "application/json")] + (ready ? [] : [("Retry-After", "1")]),
                            body: w.bytes)
    }
}
