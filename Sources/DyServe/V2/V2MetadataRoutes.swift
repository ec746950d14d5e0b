/// The V2 routes answered at once: health, server metadata, model metadata and readiness.
/// Health answers `{"live": true}` / `{"ready": true}` (kserve's client reads the body; Triton's
/// reads the status); not ready is 503 with `{"ready": false, "error"}` saying why.
struct V2MetadataRoutes: Sendable {
    let registry: ModelRegistry

    /// Server name reported by `GET /v2`.
    static let serverName = "dyserve"
    /// Version of the server reported by `GET /v2`.
    static let serverVersion = "0.1.0"
    /// Protocol extensions this server implements.
    static let extensions = ["binary_tensor_data", "parameters", "statistics", "model_configuration",
                             "classification", "model_repository"]

    func live() -> HTTPResponse {
        var w = JSONWriter()
        w.beginObject()
        w.key("live"); w.bool(true)
        w.endObject()
        return HTTPResponse.json(w.bytes)
    }

    func ready() -> HTTPResponse {
        let (ready, reasons) = registry.readiness()
        var w = JSONWriter()
        w.beginObject()
        w.key("ready"); w.bool(ready)
        if !ready { w.key("error"); w.string("not ready: " + reasons.joined(separator: "; ")) }
        w.endObject()
        return HTTPResponse(status: ready ? 200 : 503,
                            headers: [("Content-Type", "application/json")] + (ready ? [] : [("Retry-After", "1")]),
                            body: w.bytes)
    }

    func server() -> HTTPResponse {
        var w = JSONWriter()
        w.beginObject()
        w.key("name"); w.string(Self.serverName)
        w.key("version"); w.string(Self.serverVersion)
        w.key("extensions")
        w.beginArray()
        for e in Self.extensions { w.string(e) }
        w.endArray()
        w.endObject()
        return HTTPResponse.json(w.bytes)
    }

    func model(_ name: String, version: String?) throws(RequestError) -> HTTPResponse {
        let info = try registry.model(named: name, version: version).info
        var w = JSONWriter()
        w.beginObject()
        w.key("name"); w.string(info.name)
        w.key("versions")
        w.beginArray(); w.string(info.version); w.endArray()
        w.key("platform"); w.string("dyserve")
        w.key("inputs"); w.tensorSpecs(info.inputs)
        w.key("outputs"); w.tensorSpecs(info.outputs)
        w.endObject()
        return HTTPResponse.json(w.bytes)
    }

    func modelReady(_ name: String, version: String?) throws(RequestError) -> HTTPResponse {
        let info = try registry.model(named: name, version: version).info
        var w = JSONWriter()
        w.beginObject()
        w.key("name"); w.string(info.name)
        w.key("version"); w.string(info.version)
        w.key("ready"); w.bool(true)
        w.endObject()
        return HTTPResponse.json(w.bytes)
    }
}
