import CDNNL

/// A oneDNN matmul `destination[N, M] = source[N, K] x weights[K, M] (+ bias[1, M])` created once for one
/// batch size, plain layouts, user-managed scratchpad. Two uses: the aggregation of a batch's kernels
/// from an fp32 expert bank (`pi[N, K] x bank[K, M]`, each expert read once per batch), and a fully
/// connected layer (`x[N, in] x W^T`, the weights read once per batch, blocked and threaded).
final class MatmulPrimitive: @unchecked Sendable {
    let scratchpadBytes: Int
    private let descriptor: dnnl_primitive_desc_t
    private let primitive: dnnl_primitive_t
    private let binding: PrimitiveBinding

    /// `kernels[samples, count] = pi[samples, experts] x bank[experts, count]`.
    static func aggregation(context: DNNLContext, samples: Int, experts: Int, count: Int, node: String) throws(FastEngineError) -> MatmulPrimitive {
        try MatmulPrimitive(context: context, source: DNNLContext.plainDesc([samples, experts], dnnl_ab),
                            weights: DNNLContext.plainDesc([experts, count], dnnl_ab), bias: nil,
                            destination: DNNLContext.plainDesc([samples, count], dnnl_ab), node: node)
    }

    /// `y[samples, out] = x[samples, in] W^T + b` with `W` in the model's `[out, in]` row-major order,
    /// described to oneDNN as the transposed `[in, out]` operand.
    static func linear(context: DNNLContext, samples: Int, inFeatures: Int, outFeatures: Int, hasBias: Bool,
                       node: String) throws(FastEngineError) -> MatmulPrimitive {
        try MatmulPrimitive(context: context, source: DNNLContext.plainDesc([samples, inFeatures], dnnl_ab),
                            weights: DNNLContext.plainDesc([inFeatures, outFeatures], dnnl_ba),
                            bias: hasBias ? DNNLContext.plainDesc([1, outFeatures], dnnl_ab) : nil,
                            destination: DNNLContext.plainDesc([samples, outFeatures], dnnl_ab), node: node)
    }

    private init(context: DNNLContext, source sourceDesc: dnnl_memory_desc_t, weights weightsDesc: dnnl_memory_desc_t,
                 bias biasDesc: dnnl_memory_desc_t?, destination destinationDesc: dnnl_memory_desc_t, node: String) throws(FastEngineError) {
        var (sourceDesc, weightsDesc, destinationDesc) = (sourceDesc, weightsDesc, destinationDesc)
        var matmul = dnnl_matmul_desc_t()
        let status: dnnl_status_t
        if var biasDesc {
            status = dnnl_matmul_desc_init(&matmul, &sourceDesc, &weightsDesc, &biasDesc, &destinationDesc)
        } else {
            status = dnnl_matmul_desc_init(&matmul, &sourceDesc, &weightsDesc, nil, &destinationDesc)
        }
        try dnnlCheck(status, "dnnl_matmul_desc_init", node: node)
        let attributes = try DNNLContext.userScratchpadAttributes(node: node)
        defer { dnnl_primitive_attr_destroy(attributes) }
        var descriptor: dnnl_primitive_desc_t?
        try dnnlCheck(withUnsafePointer(to: &matmul) { dnnl_primitive_desc_create(&descriptor, $0, attributes, context.engine, nil) },
                      "dnnl_primitive_desc_create (matmul)", node: node)
        self.descriptor = descriptor!
        let scratchDesc = dnnl_primitive_desc_query_md(descriptor, dnnl_query_scratchpad_md, 0).pointee
        scratchpadBytes = dnnl_memory_desc_get_size([scratchDesc])
        var primitive: dnnl_primitive_t?
        try dnnlCheck(dnnl_primitive_create(&primitive, descriptor), "dnnl_primitive_create (matmul)", node: node)
        self.primitive = primitive!
        binding = try PrimitiveBinding(context: context, descriptors: PrimitiveDescriptors(
            source: sourceDesc, destination: destinationDesc, weights: weightsDesc, bias: biasDesc, scratchpad: scratchDesc), node: node)
    }

    deinit {
        dnnl_primitive_destroy(primitive)
        dnnl_primitive_desc_destroy(descriptor)
    }

    /// Runs the matmul on the given buffers (oneDNN only reads `source`, `weights` and `bias`); synchronous.
    func execute(stream: dnnl_stream_t, source: UnsafeMutableRawPointer, weights: UnsafeMutableRawPointer,
                 bias: UnsafeMutableRawPointer? = nil, destination: UnsafeMutableRawPointer, scratchpad: UnsafeMutableRawPointer) throws(FastEngineError) {
        try binding.execute(primitive, stream: stream, source: source, weights: weights, bias: bias,
                        destination: destination, scratchpad: scratchpad)
    }
}
