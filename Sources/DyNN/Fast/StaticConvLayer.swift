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
    /// The plain `[out, in]` weights when the convolution is a matrix-vector product (1x1 kernel, one group,
    /// stride 1, 1x1 input and output) that runs faster as FC rows on one thread than as a oneDNN call
    /// (`FastStep.pointwiseConvolution`): a squeeze-excitation's reduce (rows at least as long as they are
    /// many), or a small expand. A large expand's many short rows are left to oneDNN. Else nil.
    let pointwiseMatrix: AlignedBuffer?
    /// Weights up to which an expand-shaped 1x1 convolution of a 1x1 input still runs as FC rows.
    static let smallMatrix = 2_400
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
        let g = op.geometry
        if g.kernelH == 1, g.kernelW == 1, g.groups == 1, g.strideH == 1, g.strideW == 1,
           self.inputShape[2] == 1, self.inputShape[3] == 1, self.outputShape[2] == 1, self.outputShape[3] == 1,
           self.inputShape[1] >= self.outputShape[1] || op.weight.count <= Self.smallMatrix {
            let matrix = AlignedBuffer(floats: op.weight.count)
            for i in 0..<op.weight.count { matrix.floats[i] = op.weight.data[i] }
            pointwiseMatrix = matrix
        } else {
            pointwiseMatrix = nil
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
