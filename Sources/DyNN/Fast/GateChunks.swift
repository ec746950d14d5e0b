import CDNNL

/// Where a squeeze-excitation gate goes in a convolution's weights when it is folded into them,
/// `W'[o, c, ...] = W[o, c, ...] gate[c]`: the gate chunk map of the primitive's weight layout, one `Int32`
/// per `DY_GATE_CHUNK` (8) weights (see shim.h): `c >= 0` when those weights all belong to input channel
/// c, `~c` when weight j of them belongs to channel `c + j`. oneDNN's blocked layouts (`ABcd8b8a` and its
/// wider kin) are of the first kind, plain `oihw` 1x1 weights of the second; a layout of neither kind gets
/// no map, and its convolution keeps the multiply as a pass of its own. Groups 1 only. Built while a
/// plan is made, never per request.
enum GateChunks {
    static let chunk = Int(DY_GATE_CHUNK)

    /// The map of `primitive`'s weights, or nil when some chunk is of neither kind.
    static func map(primitive: ConvPrimitive, context: DNNLContext, node: String) throws(FastEngineError) -> AlignedBuffer? {
        precondition(primitive.shape.geometry.groups == 1, "\(node): gate chunk map of a grouped convolution")
        let dims = primitive.shape.weightDims
        let (inputs, taps) = (dims[1], dims[2] * dims[3])
        // Each weight's input channel plus one, reordered like the weights: padding becomes 0 (its weights
        // are zero, so any gate may scale them).
        let plain = (0..<dims.reduce(1, *)).map { Float($0 / taps % inputs + 1) }
        let staging = AlignedBuffer(byteCount: primitive.weightsBytes)
        let plainDesc = try DNNLContext.plainDesc(dims, primitive.shape.plainWeightTag)
        try plain.withUnsafeBufferPointer { (w) throws(FastEngineError) in
            try context.reorder(plainDesc, UnsafeRawPointer(w.baseAddress!), into: primitive.weightsDesc, staging.raw, node: node)
        }
        let count = primitive.weightsBytes / MemoryLayout<Float>.stride
        let chunks = (count + chunk - 1) / chunk
        let map = AlignedBuffer(byteCount: max(chunks, 1) * MemoryLayout<Int32>.stride)
        let entries = map.raw.assumingMemoryBound(to: Int32.self)
        for j in 0..<chunks {
            var channels: [(offset: Int, channel: Int)] = []
            for e in j * chunk..<min(count, (j + 1) * chunk) where staging.floats[e] > 0 {
                channels.append((e - j * chunk, Int(staging.floats[e]) - 1))
            }
            if let first = channels.first?.channel, channels.allSatisfy({ $0.channel == first }) {
                entries[j] = Int32(first)
            } else if channels.isEmpty {
                entries[j] = 0
            } else if let start = channels.first.map({ $0.channel - $0.offset }), start >= 0, start + chunk <= inputs,
                      channels.allSatisfy({ $0.channel == start + $0.offset }) {
                entries[j] = ~Int32(start)
            } else {
                return nil
            }
        }
        return map
    }
}
