import DyNN
import Foundation

/// Writes a `TraceRecord` as the JSON of `GET /attention?id=` (also inlined by `return_trace`).
///
/// Layout: `{"id", "model", "time", "temperature", "model_temperature", "trace", "batch",
/// "top_class", "layers": [{"name", "type", "attention"?: {"routing", "temperature", "pi", "entropy"}, "routed_by"?,
/// "activation"?: {"variant", "pieces", "channels", "a", "b", "spatial"?, "height"?, "width"?}}],
/// "input"?: {"shape", "data"}}` (`input` at trace level `full` only).
enum TraceEncoder {
    static func write(_ record: TraceRecord, into w: inout JSONWriter) {
        w.beginObject()
        w.key("id"); w.string(record.id)
        w.key("model"); w.string(record.model)
        w.key("time"); w.string(timestamp(record.time))
        w.key("temperature")
        if let t = record.temperature { w.float(t) } else { w.null() }
        w.key("model_temperature"); w.float(record.modelTemperature)
        w.key("trace"); w.string(record.level.rawValue)
        w.key("batch"); w.int(record.batch)
        if let kept = record.samplesKept {
            w.key("samples_kept"); w.int(kept)
            w.key("note")
            w.string("this trace was larger than attention_store.max_record_bytes; per-sample values "
                     + "are kept for the first \(kept) of \(record.batch) samples")
        }
        w.key("top_class"); writeTopClass(record.topClass, into: &w)
        w.key("layers")
        w.beginArray()
        for layer in record.layers { writeLayer(layer, into: &w) }
        w.endArray()
        if let input = record.input {
            w.key("input")
            w.beginObject()
            w.key("shape"); w.ints(input.shape)
            w.key("data"); w.floats(input.data)
            w.endObject()
        }
        w.endObject()
    }

    static func encode(_ record: TraceRecord) -> [UInt8] {
        var w = JSONWriter(reservingCapacity: record.estimatedBytes * 2)
        write(record, into: &w)
        return w.bytes
    }

    /// `GET /attention` without an id: `{"requests": [{"id", "model", "time", "top_class"}]}`, newest first.
    static func encodeList(_ records: [TraceRecord]) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("requests")
        w.beginArray()
        for r in records {
            w.beginObject()
            w.key("id"); w.string(r.id)
            w.key("model"); w.string(r.model)
            w.key("time"); w.string(timestamp(r.time))
            w.key("top_class"); writeTopClass(r.topClass, into: &w)
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    static func writeTopClass(_ top: TopClass?, into w: inout JSONWriter) {
        guard let top else { return w.null() }
        w.beginObject()
        w.key("index"); w.int(top.index)
        w.key("label")
        if let l = top.label { w.string(l) } else { w.null() }
        w.key("score"); w.float(top.score)
        w.endObject()
    }

    static func writeLayer(_ layer: LayerTrace, into w: inout JSONWriter) {
        w.beginObject()
        w.key("name"); w.string(layer.name)
        w.key("type"); w.string(layer.op)
        if let a = layer.attention {
            w.key("attention")
            w.beginObject()
            w.key("routing"); w.string(a.routing)
            w.key("temperature"); w.float(a.temperature)
            w.key("pi"); writeRows(a.pi, into: &w)
            w.key("entropy"); w.floats(a.entropy)
            w.endObject()
        }
        // A dynamic convolution routed by another node: that node's layer carries the routing weights.
        if let routedBy = layer.routedBy {
            w.key("routed_by"); w.string(routedBy)
        }
        if let act = layer.activation {
            w.key("activation")
            w.beginObject()
            w.key("variant"); w.string(act.variant)
            w.key("pieces"); w.int(act.pieces)
            w.key("channels"); w.int(act.channels)
            w.key("a"); writeRows(act.a, into: &w)
            w.key("b"); writeRows(act.b, into: &w)
            if let spatial = act.spatial {
                w.key("spatial"); writeRows(spatial, into: &w)
                if let h = act.height { w.key("height"); w.int(h) }
                if let wd = act.width { w.key("width"); w.int(wd) }
            }
            w.endObject()
        }
        w.endObject()
    }

    static func writeRows(_ rows: [[Float]], into w: inout JSONWriter) {
        w.beginArray()
        for row in rows { w.floats(row) }
        w.endArray()
    }

    /// RFC 3339 UTC with milliseconds, e.g. `2026-11-29T17:03:04.125Z`.
    static func timestamp(_ seconds: Double) -> String {
        Date(timeIntervalSince1970: seconds).formatted(.iso8601.year().month().day()
            .time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}
