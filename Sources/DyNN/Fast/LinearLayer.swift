/// A fully connected layer on the fast path: weights (`[out, in]` row-major, as the model stores them)
/// and bias copied once into aligned buffers that every batch size's `LinearPrimitive` reads.
final class LinearLayer: @unchecked Sendable {
    let op: Linear
    let node: String
    let weights: AlignedBuffer
    let bias: AlignedBuffer?

    init(op: Linear, node: String) {
        self.op = op
        self.node = node
        weights = AlignedBuffer(floats: op.weight.count)
        for i in 0..<op.weight.count { weights.floats[i] = op.weight.data[i] }
        bias = op.bias.map { b in
            let buffer = AlignedBuffer(floats: b.count)
            for i in 0..<b.count { buffer.floats[i] = b.data[i] }
            return buffer
        }
    }

    var inFeatures: Int { op.weight.shape[1] }
    var outFeatures: Int { op.weight.shape[0] }

    /// The matmul for `batch` samples; called while a plan is built.
    func prepare(batch: Int, context: DNNLContext) throws(FastEngineError) -> LinearPrimitive {
        try LinearPrimitive(context: context, samples: batch, inFeatures: inFeatures, outFeatures: outFeatures,
                            hasBias: bias != nil, node: node)
    }
}
