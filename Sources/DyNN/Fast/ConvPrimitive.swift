import CDNNL

/// The sizes of one convolution primitive: NHWC activations, `batch` samples.
struct ConvShape: Equatable {
    var batch: Int
    var inChannels: Int
    var height: Int
    var width: Int
    var outChannels: Int
    var outHeight: Int
    var outWidth: Int
    var geometry: ConvGeometry

    /// From a node's per-sample input and output shapes `[1, C, H, W]`.
    init(batch: Int, input: [Int], output: [Int], geometry: ConvGeometry) {
        self.batch = batch
        inChannels = input[1]
        height = input[2]
        width = input[3]
        outChannels = output[1]
        outHeight = output[2]
        outWidth = output[3]
        self.geometry = geometry
    }

    var inputSampleCount: Int { inChannels * height * width }
    var outputSampleCount: Int { outChannels * outHeight * outWidth }

    /// oneDNN's weight dims: `[g, out/g, in/g, kh, kw]` when grouped, else `[out, in, kh, kw]`.
    var weightDims: [Int] {
        let g = geometry.groups
        let (kh, kw) = (geometry.kernelH, geometry.kernelW)
        return g > 1 ? [g, outChannels / g, inChannels / g, kh, kw] : [outChannels, inChannels, kh, kw]
    }

    /// The tag of the reference ops' weight layout (`[out, in/g, kh, kw]` row-major) under `weightDims`.
    var plainWeightTag: dnnl_format_tag_t { geometry.groups > 1 ? dnnl_goihw : dnnl_oihw }
}

/// A oneDNN forward-inference convolution created once for one shape: NHWC source and destination,
/// weights in whatever layout the implementation prefers (`format_tag_any`, queried back as
/// `weightsDesc`), optional bias, an optional fused element-wise post-op, and a user-managed scratchpad.
final class ConvPrimitive: @unchecked Sendable {
    let shape: ConvShape
    let weightsDesc: dnnl_memory_desc_t
    /// Bytes of the weights in `weightsDesc`, padding included.
    let weightsBytes: Int
    let scratchpadBytes: Int
    let hasBias: Bool

    let descriptors: PrimitiveDescriptors

    private let descriptor: dnnl_primitive_desc_t
    private let primitive: dnnl_primitive_t
    /// The binding of the calling thread for plain (one execution at a time) use.
    private let binding: PrimitiveBinding

    init(context: DNNLContext, shape: ConvShape, hasBias: Bool, postOp: ActivationKind?, node: String) throws(FastEngineError) {
        self.shape = shape
        self.hasBias = hasBias
        let g = shape.geometry
        var sourceDesc = try DNNLContext.plainDesc([shape.batch, shape.inChannels, shape.height, shape.width], dnnl_nhwc)
        var destinationDesc = try DNNLContext.plainDesc([shape.batch, shape.outChannels, shape.outHeight, shape.outWidth], dnnl_nhwc)
        var anyWeights = try DNNLContext.plainDesc(shape.weightDims, dnnl_format_tag_any)
        var biasDesc = try DNNLContext.plainDesc([shape.outChannels], dnnl_a)
        var convolution = dnnl_convolution_desc_t()
        let strides = [Int64(g.strideH), Int64(g.strideW)]
        let dilates = [Int64(g.dilationH - 1), Int64(g.dilationW - 1)]
        let padLow = [Int64(g.padTop), Int64(g.padLeft)]
        let padHigh = [Int64(g.padBottom), Int64(g.padRight)]
        let status: dnnl_status_t = hasBias
            ? dnnl_dilated_convolution_forward_desc_init(&convolution, dnnl_forward_inference, dnnl_convolution_direct,
                                                         &sourceDesc, &anyWeights, &biasDesc, &destinationDesc,
                                                         strides, dilates, padLow, padHigh)
            : dnnl_dilated_convolution_forward_desc_init(&convolution, dnnl_forward_inference, dnnl_convolution_direct,
                                                         &sourceDesc, &anyWeights, nil, &destinationDesc,
                                                         strides, dilates, padLow, padHigh)
        try dnnlCheck(status, "dnnl_dilated_convolution_forward_desc_init", node: node)

        let attributes = try DNNLContext.userScratchpadAttributes(node: node)
        defer { dnnl_primitive_attr_destroy(attributes) }
        if let postOp {
            var postOps: dnnl_post_ops_t?
            try dnnlCheck(dnnl_post_ops_create(&postOps), "dnnl_post_ops_create", node: node)
            defer { dnnl_post_ops_destroy(postOps) }
            for (algorithm, alpha, beta) in Self.eltwise(postOp) {
                try dnnlCheck(dnnl_post_ops_append_eltwise(postOps, 1, algorithm, alpha, beta), "dnnl_post_ops_append_eltwise",
                              node: node)
            }
            try dnnlCheck(dnnl_primitive_attr_set_post_ops(attributes, postOps), "dnnl_primitive_attr_set_post_ops", node: node)
        }

        var descriptor: dnnl_primitive_desc_t?
        try dnnlCheck(withUnsafePointer(to: &convolution) { dnnl_primitive_desc_create(&descriptor, $0, attributes, context.engine, nil) },
                      "dnnl_primitive_desc_create (convolution)", node: node)
        guard let descriptor else { throw .dnnl(call: "dnnl_primitive_desc_create", status: 0, node: node) }
        self.descriptor = descriptor

        weightsDesc = dnnl_primitive_desc_query_md(descriptor, dnnl_query_weights_md, 0).pointee
        weightsBytes = dnnl_memory_desc_get_size([weightsDesc])
        var scratchDesc = dnnl_primitive_desc_query_md(descriptor, dnnl_query_scratchpad_md, 0).pointee
        scratchpadBytes = dnnl_memory_desc_get_size(&scratchDesc)

        var primitive: dnnl_primitive_t?
        try dnnlCheck(dnnl_primitive_create(&primitive, descriptor), "dnnl_primitive_create (convolution)", node: node)
        self.primitive = primitive!

        descriptors = PrimitiveDescriptors(source: sourceDesc, destination: destinationDesc, weights: weightsDesc,
                                      bias: hasBias ? biasDesc : nil, scratchpad: scratchDesc)
        binding = try PrimitiveBinding(context: context, descriptors: descriptors, node: node)
    }

    deinit {
        dnnl_primitive_destroy(primitive)
        dnnl_primitive_desc_destroy(descriptor)
    }

    /// A further binding, for a thread that runs this primitive while others do.
    func makeBinding(context: DNNLContext, node: String) throws(FastEngineError) -> PrimitiveBinding {
        try PrimitiveBinding(context: context, descriptors: descriptors, node: node)
    }

    /// The oneDNN element-wise algorithms (applied in order) computing `ActivationKind`'s formula.
    static func eltwise(_ kind: ActivationKind) -> [(dnnl_alg_kind_t, Float, Float)] {
        switch kind {
        case .relu: [(dnnl_eltwise_relu, 0, 0)]
        case .relu6: [(dnnl_eltwise_clip, 0, 6)] // min(max(x, 0), 6)
        case .hardSwish: [(dnnl_eltwise_hardswish, 0, 0)]
        case .sigmoid: [(dnnl_eltwise_logistic, 0, 0)]
        case .silu: [(dnnl_eltwise_swish, 1, 0)] // x * sigmoid(1 * x)
        // oneDNN 2.6 has no hard sigmoid: relu6(x + 3) / 6 = clip(x / 6 + 1/2, 0, 1), equal up to rounding.
        case .hardSigmoid: [(dnnl_eltwise_linear, 1.0 / 6, 0.5), (dnnl_eltwise_clip, 0, 1)]
        }
    }

    /// Runs the convolution on the given buffers (all sized for `shape`); synchronous. `binding` nil:
    /// the primitive's own, for callers that never run it from two threads at once.
    func execute(stream: dnnl_stream_t, source: UnsafeMutableRawPointer, weights: UnsafeMutableRawPointer,
                 bias: UnsafeMutableRawPointer?, destination: UnsafeMutableRawPointer,
                 scratchpad: UnsafeMutableRawPointer, binding: PrimitiveBinding? = nil) throws(FastEngineError) {
        try (binding ?? self.binding).execute(primitive, stream: stream, source: source, weights: weights, bias: bias,
                                          destination: destination, scratchpad: scratchpad)
    }
}
