import CDNNL

/// A static convolution on the fast path: bias copied once, weights reordered once into the layout
/// of each primitive that asks for a new one (primitives for different batch sizes usually share it).
final class StaticConvLayer: @unchecked Sendable {
    let op: Conv2d
    let node: String
    /// An activation applied by the primitive as a post-op (the graph's next node, folded in).
    let postOp: ActivationKind?
    /// Per-sample input and output shapes `[1, C, H, W]`.
    let inputShape: [Int]
    let outputShape: [Int]
    let bias: AlignedBuffer?
    private var packed: [(desc: dnnl_memory_desc_t, buffer: AlignedBuffer)] = []

    init(op: Conv2d, node: String, postOp: ActivationKind?, inputShape: [Int], outputShape: [Int]) {
        self.op = op
        self.node = node
        self.postOp = postOp
        self.inputShape = [1] + inputShape.dropFirst()
        self.outputShape = [1] + outputShape.dropFirst()
        if let b = op.bias {
            let buffer = AlignedBuffer(floats: b.count)
            for i in 0..<b.count { buffer.floats[i] = b.data[i] }
            bias = buffer
        } else {
            bias = nil
        }
    }

    /// A primitive for `batch` samples and the weights in its layout (reordered now if no earlier
    /// primitive of this layer used the same layout). Called while a plan is built, never per request.
    func prepare(batch: Int, context: DNNLContext) throws(FastEngineError) -> (ConvPrimitive, AlignedBuffer) {
        let shape = ConvShape(batch: batch, input: inputShape, output: outputShape, geometry: op.geometry)
        let primitive = try ConvPrimitive(context: context, shape: shape, hasBias: bias != nil, postOp: postOp, node: node)
        var wanted = primitive.weightsDesc
        for entry in packed {
            var desc = entry.desc
            if dnnl_memory_desc_equal(&desc, &wanted) != 0 { return (primitive, entry.buffer) }
        }
        let buffer = AlignedBuffer(byteCount: primitive.weightsBytes)
        let plain = try DNNLContext.plainDesc(shape.weightDims, shape.plainWeightTag)
        try op.weight.data.withUnsafeBufferPointer { (w) throws(FastEngineError) in
            try context.reorder(plain, UnsafeRawPointer(w.baseAddress!), into: wanted, buffer.raw, node: node)
        }
        packed.append((wanted, buffer))
        return (primitive, buffer)
    }
}
