/// Writes a V2 inference response:
/// `{"model_name", "model_version", "id"?, "parameters"?: {"trace_id"}, "outputs": [{"name",
/// "datatype", "shape", "data"} | {"name", "datatype", "shape", "parameters": {"binary_data_size"}}]}`,
/// datatype FP32, or BYTES for classification outputs (JSON strings inline; in binary, each
/// element as a 4-byte little-endian length and its bytes).
///
/// When any output is binary the body is that JSON followed by the binary outputs' little-endian
/// bytes in the order the JSON lists them, and `Inference-Header-Content-Length` gives the JSON's
/// length (what `tritonclient` reads to split the body).
enum V2InferResponseEncoder {
    struct Encoded {
        var body: [UInt8]
        var headers: [(name: String, value: String)]
    }

    static func encode(model: String, version: String, id: String?, traceID: String?,
                       outputs: [V2OutputTensor]) -> Encoded {
        let inlineBytes = outputs.reduce(0) { $0 + ($1.binary ? 0 : $1.binaryByteCount * 3) }
        var w = JSONWriter(reservingCapacity: 256 + inlineBytes)
        w.beginObject()
        w.key("model_name"); w.string(model)
        w.key("model_version"); w.string(version)
        if let id { w.key("id"); w.string(id) }
        if let traceID {
            w.key("parameters")
            w.beginObject()
            w.key("trace_id"); w.string(traceID)
            w.endObject()
        }
        w.key("outputs")
        w.beginArray()
        for output in outputs {
            w.beginObject()
            w.key("name"); w.string(output.name)
            w.key("datatype"); w.string(output.datatype)
            w.key("shape"); w.ints(output.shape)
            if output.binary {
                w.key("parameters")
                w.beginObject()
                w.key("binary_data_size"); w.int(output.binaryByteCount)
                w.endObject()
            } else {
                w.key("data")
                switch output.values {
                case .fp32(let floats):
                    w.floats(floats)
                case .bytes(let elements):
                    w.beginArray()
                    for e in elements { w.string(String(decoding: e, as: UTF8.self)) }
                    w.endArray()
                }
            }
            w.endObject()
        }
        w.endArray()
        w.endObject()
        guard outputs.contains(where: \.binary) else {
            return Encoded(body: w.bytes, headers: [("Content-Type", "application/json")])
        }
        let headerLength = w.bytes.count
        var body = w.bytes
        body.reserveCapacity(headerLength + outputs.reduce(0) { $0 + ($1.binary ? $1.binaryByteCount : 0) })
        for output in outputs where output.binary {
            switch output.values {
            case .fp32(let floats):
                for v in floats {
                    withUnsafeBytes(of: v.bitPattern.littleEndian) { body.append(contentsOf: $0) }
                }
            case .bytes(let elements):
                for e in elements {
                    withUnsafeBytes(of: UInt32(e.count).littleEndian) { body.append(contentsOf: $0) }
                    body.append(contentsOf: e)
                }
            }
        }
        return Encoded(body: body, headers: [("Content-Type", "application/octet-stream"),
                                             ("Inference-Header-Content-Length", String(headerLength))])
    }
}
