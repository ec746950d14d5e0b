/// `GET /models`: every configured model with its state and, once loaded, its inputs, outputs,
/// parameters, multiply-adds per sample, default temperature and labels.
struct ModelsRoute: Sendable {
    let registry: ModelRegistry

    func handle() -> HTTPResponse {
        var w = JSONWriter()
        w.beginObject()
        w.key("models")
        w.beginArray()
        for name in registry.names {
            w.beginObject()
            w.key("name"); w.string(name)
            switch registry.state(of: name) {
            case .ready(let model, let seconds)?:
                let info = model.info
                w.key("state"); w.string("ready")
                w.key("version"); w.string(info.version)
                w.key("inputs"); w.tensorSpecs(info.inputs)
                w.key("outputs"); w.tensorSpecs(info.outputs)
                w.key("parameters"); w.int(info.parameters)
                w.key("multiply_adds"); w.int(info.multiplyAdds)
                w.key("temperature"); w.float(info.temperature)
                w.key("labels")
                if let labels = info.labels {
                    w.beginArray()
                    for l in labels { w.string(l) }
                    w.endArray()
                } else {
                    w.null()
                }
                w.key("load_seconds"); w.double(seconds)
            case .failed(let reason)?:
                w.key("state"); w.string("failed")
                w.key("error"); w.string(reason)
            case .unloaded?:
                w.key("state"); w.string("unloaded")
            case .loading?, nil:
                w.key("state"); w.string("loading")
            }
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return HTTPResponse.json(w.bytes)
    }
}
