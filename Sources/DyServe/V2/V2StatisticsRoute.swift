/// `GET /v2/models[/{m}[/versions/{v}]]/stats` in Triton's shape:
/// `{"model_stats": [{"name", "version", "last_inference", "inference_count", "execution_count",
///   "inference_stats": {"success", "fail", "queue", "compute_infer": {"count", "ns"}},
///   "batch_stats": [{"batch_size", "compute_infer": {"count", "ns"}}]}]}`.
/// Without a model: every loaded model, in configuration order.
struct V2StatisticsRoute: Sendable {
    let registry: ModelRegistry
    let statistics: InferenceStatistics

    func handle(model: String?, version: String?) throws(RequestError) -> HTTPResponse {
        var infos: [ServedModelInfo] = []
        if let model {
            infos.append(try V2ModelLookup.model(model, version: version, in: registry).info)
        } else {
            for name in registry.names {
                if case .ready(let m, _)? = registry.state(of: name) { infos.append(m.info) }
            }
        }
        var w = JSONWriter()
        w.beginObject()
        w.key("model_stats")
        w.beginArray()
        for info in infos {
            let s = statistics.snapshot(model: info.name)
            w.beginObject()
            w.key("name"); w.string(info.name)
            w.key("version"); w.string(info.version)
            w.key("last_inference"); w.int(Int(clamping: s.lastInferenceMs))
            w.key("inference_count"); w.int(s.inferenceCount)
            w.key("execution_count"); w.int(s.executionCount)
            w.key("inference_stats")
            w.beginObject()
            write("success", s.success, into: &w)
            write("fail", s.fail, into: &w)
            write("queue", s.queue, into: &w)
            write("compute_infer", s.compute, into: &w)
            w.endObject()
            w.key("batch_stats")
            w.beginArray()
            for (batch, d) in s.computeByBatch.sorted(by: { $0.key < $1.key }) {
                w.beginObject()
                w.key("batch_size"); w.int(batch)
                write("compute_infer", d, into: &w)
                w.endObject()
            }
            w.endArray()
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return APIHandler.json(w.bytes)
    }

    private func write(_ key: String, _ d: InferenceStatistics.Duration, into w: inout JSONWriter) {
        w.key(key)
        w.beginObject()
        w.key("count"); w.int(d.count)
        w.key("ns"); w.int(Int(clamping: d.ns))
        w.endObject()
    }
}
