/// `GET /v2/models[/{m}[/versions/{v}]]/stats` in Triton's shape:
/// `{"model_stats": [{"name", "version", "last_inference", "inference_count", "execution_count",
///   "inference_stats": {"success", "fail", "queue", "compute_input", "compute_infer",
///   "compute_output", "cache_hit", "cache_miss": {"count", "ns"}},
///   "batch_stats": [{"batch_size", "compute_input", "compute_infer", "compute_output"}],
///   "memory_usage": []}]}`, every field Triton's `model_stats` has, since perf_analyzer reads
/// them without checking. The service has no response cache, so `cache_hit` and `cache_miss`
/// are always zero, as in Triton with its cache off.
/// Without a model: every loaded model, in configuration order.
struct V2StatisticsRoute: Sendable {
    let registry: ModelRegistry
    let statistics: InferenceStatistics

    func handle(model: String?, version: String?) throws(RequestError) -> HTTPResponse {
        var infos: [ServedModelInfo] = []
        if let model {
            infos.append(try registry.model(named: model, version: version).info)
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
            write(s.compute, into: &w)
            write("cache_hit", InferenceStatistics.Duration(), into: &w)
            write("cache_miss", InferenceStatistics.Duration(), into: &w)
            w.endObject()
            w.key("batch_stats")
            w.beginArray()
            for (batch, d) in s.computeByBatch.sorted(by: { $0.key < $1.key }) {
                w.beginObject()
                w.key("batch_size"); w.int(batch)
                write(d, into: &w)
                w.endObject()
            }
            w.endArray()
            w.key("memory_usage"); w.beginArray(); w.endArray()
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return HTTPResponse.json(w.bytes)
    }

    private func write(_ d: InferenceStatistics.ComputeDurations, into w: inout JSONWriter) {
        write("compute_input", d.input, into: &w)
        write("compute_infer", d.infer, into: &w)
        write("compute_output", d.output, into: &w)
    }

    private func write(_ key: String, _ d: InferenceStatistics.Duration, into w: inout JSONWriter) {
        w.key(key)
        w.beginObject()
        w.key("count"); w.int(d.count)
        w.key("ns"); w.int(Int(clamping: d.ns))
        w.endObject()
    }
}
