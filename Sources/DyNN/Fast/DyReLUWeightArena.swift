/// One block of memory for the hyper-network weights of every DY-ReLU of a model, handed out in slices.
/// Each pass reads all of them from memory (together they do not fit the last-level cache), and one
/// block is large enough for `AlignedBuffer` to back it with 2 MiB pages: one TLB entry covers what 512
/// entries would with 4 KiB pages, where separate per-layer buffers, most under 2 MiB, would stay on
/// 4 KiB pages and pay a page walk every 64 cache lines of the stream.
final class DyReLUWeightArena: @unchecked Sendable {
    private let buffer: AlignedBuffer
    private var used = 0

    /// Room for every DY-ReLU in `ops` (each slice padded to 16 floats, a cache line).
    init(ops: [DyReLU]) {
        buffer = AlignedBuffer(floats: ops.reduce(0) { $0 + Self.floats(of: $1) })
    }

    /// A copy of `values` in the arena. Fails (a programming error) if the arena was sized without it.
    func copy(_ values: [Float]) -> UnsafeMutablePointer<Float> {
        let slice = buffer.floats + used
        used += Self.padded(values.count)
        precondition(used <= buffer.floatCount, "DY-ReLU weight arena sized without this layer")
        values.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { slice.update(from: base, count: source.count) }
        }
        return slice
    }

    private static func padded(_ floats: Int) -> Int { (floats + 15) / 16 * 16 }

    /// Floats `DyReLUWeights` takes for `op`: FC1, FC2, their biases, DY-ReLU-C's spatial weights.
    static func floats(of op: DyReLU) -> Int {
        var arrays = [op.hyper.fc1Weight.data.count, op.hyper.fc2Weight.data.count]
        if let bias = op.hyper.fc1Bias { arrays.append(bias.data.count) }
        if let bias = op.hyper.fc2Bias { arrays.append(bias.data.count) }
        if op.variant == .c, let spatial = op.spatial { arrays.append(spatial.weight.data.count) }
        return arrays.reduce(0) { $0 + padded($1) }
    }
}
