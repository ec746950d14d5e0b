import DyNN

/// Time spent by one request, in microseconds.
struct RequestTiming: Sendable, Equatable {
    var queue: Int
    var compute: Int
    var total: Int

    /// The `Server-Timing` header value (durations in milliseconds, as the header specifies).
    var serverTimingHeader: String {
        func ms(_ us: Int) -> String { String(Double(us) / 1000) }
        return "queue;dur=\(ms(queue)), compute;dur=\(ms(compute)), total;dur=\(ms(total))"
    }
}

/// Writes the `POST /infer` response:
/// `{"id", "model", "outputs": [{"name", "shape", "datatype", "data"}], "top_k": [[{"index",
/// "label", "score"}] per sample] | null, "timing_us": {"queue", "compute", "total"}, "trace"?}`.
enum InferResponseEncoder {
    static func encode(id: String, model: String, specs: [ServedTensorSpec], outputs: [Tensor],
                       topK: [[TopKEntry]]?, timing: RequestTiming, trace: TraceRecord?) -> [UInt8] {
        let floats = outputs.reduce(0) { $0 + $1.count }
        var w = JSONWriter(reservingCapacity: 256 + floats * 12)
        w.beginObject()
        w.key("id"); w.string(id)
        w.key("model"); w.string(model)
        w.key("outputs")
        w.beginArray()
        for (i, tensor) in outputs.enumerated() {
            w.beginObject()
            w.key("name"); w.string(i < specs.count ? specs[i].name : "output\(i)")
            w.key("shape"); w.ints(tensor.shape)
            w.key("datatype"); w.string(i < specs.count ? specs[i].datatype : "FP32")
            w.key("data"); w.floats(tensor.data)
            w.endObject()
        }
        w.endArray()
        w.key("top_k")
        if let topK {
            w.beginArray()
            for sample in topK {
                w.beginArray()
                for e in sample {
                    w.beginObject()
                    w.key("index"); w.int(e.index)
                    w.key("label")
                    if let l = e.label { w.string(l) } else { w.null() }
                    w.key("score"); w.float(e.score)
                    w.endObject()
                }
                w.endArray()
            }
            w.endArray()
        } else {
            w.null()
        }
        w.key("timing_us")
        w.beginObject()
        w.key("queue"); w.int(timing.queue)
        w.key("compute"); w.int(timing.compute)
        w.key("total"); w.int(timing.total)
        w.endObject()
        if let trace {
            w.key("trace")
            TraceEncoder.write(trace, into: &w)
        }
        w.endObject()
        return w.bytes
    }
}
