import CDNNL

/// `y[N, out] = x[N, in] W^T + b` as a oneDNN matmul for one batch size: the classifier of a network
/// reads its weights once per batch, blocked and spread over oneDNN's threads, where a matrix-vector
/// loop per sample would read them once per sample on one thread. `W` stays in the model's
/// `[out, in]` row-major order, described to oneDNN as the transposed `[in, out]` operand.
final class LinearPrimitive: @unchecked Sendable {
    let scratchpadBytes: Int
    private let descriptor: dnnl_primitive_desc_t
    private let primitive: dnnl_primitive_t
    private let source: dnnl_memory_t
    private let weights: dnnl_memory_t
    private let bias: dnnl_memory_t?
    private let destination: dnnl_memory_t
    private let scratchpad: dnnl_memory_t
    private let arguments: [dnnl_exec_arg_t]

    init(context: DNNLContext, samples: Int, inFeatures: Int, outFeatures: Int, hasBias: Bool, node: String) throws(FastEngineError) {
        var sourceDesc = try DNNLContext.plainDesc([samples, inFeatures], dnnl_ab)
        var weightsDesc = try DNNLContext.plainDesc([inFeatures, outFeatures], dnnl_ba)
        var biasDesc = try DNNLContext.plainDesc([1, outFeatures], dnnl_ab)
        var destinationDesc = try DNNLContext.plainDesc([samples, outFeatures], dnnl_ab)
        var matmul = dnnl_matmul_desc_t()
        let status = hasBias ? dnnl_matmul_desc_init(&matmul, &sourceDesc, &weightsDesc, &biasDesc, &destinationDesc)
                             : dnnl_matmul_desc_init(&matmul, &sourceDesc, &weightsDesc, nil, &destinationDesc)
        try dnnlCheck(status, "dnnl_matmul_desc_init", node: node)
        var attributes: dnnl_primitive_attr_t?
        try dnnlCheck(dnnl_primitive_attr_create(&attributes), "dnnl_primitive_attr_create", node: node)
        defer { dnnl_primitive_attr_destroy(attributes) }
        try dnnlCheck(dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user),
                      "dnnl_primitive_attr_set_scratchpad_mode", node: node)
        var descriptor: dnnl_primitive_desc_t?
        try dnnlCheck(withUnsafePointer(to: &matmul) { dnnl_primitive_desc_create(&descriptor, $0, attributes, context.engine, nil) },
                      "dnnl_primitive_desc_create (matmul)", node: node)
        self.descriptor = descriptor!
        var scratchDesc = dnnl_primitive_desc_query_md(descriptor, dnnl_query_scratchpad_md, 0).pointee
        scratchpadBytes = dnnl_memory_desc_get_size(&scratchDesc)
        var primitive: dnnl_primitive_t?
        try dnnlCheck(dnnl_primitive_create(&primitive, descriptor), "dnnl_primitive_create (matmul)", node: node)
        self.primitive = primitive!
        func memory(_ desc: inout dnnl_memory_desc_t) throws(FastEngineError) -> dnnl_memory_t {
            var memory: dnnl_memory_t?
            try dnnlCheck(dnnl_memory_create(&memory, &desc, context.engine, nil), "dnnl_memory_create", node: node)
            return memory!
        }
        source = try memory(&sourceDesc)
        weights = try memory(&weightsDesc)
        bias = hasBias ? try memory(&biasDesc) : nil
        destination = try memory(&destinationDesc)
        scratchpad = try memory(&scratchDesc)
        var arguments = [dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: source),
                         dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS, memory: weights),
                         dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: destination),
                         dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: scratchpad)]
        if let bias { arguments.append(dnnl_exec_arg_t(arg: DNNL_ARG_BIAS, memory: bias)) }
        self.arguments = arguments
    }

    deinit {
        for memory in [source, weights, destination, scratchpad] { dnnl_memory_destroy(memory) }
        if let bias { dnnl_memory_destroy(bias) }
        dnnl_primitive_destroy(primitive)
        dnnl_primitive_desc_destroy(descriptor)
    }

    func execute(stream: dnnl_stream_t, source: UnsafeMutableRawPointer, weights: UnsafeMutableRawPointer,
                 bias: UnsafeMutableRawPointer?, destination: UnsafeMutableRawPointer, scratchpad: UnsafeMutableRawPointer) {
        dnnl_memory_set_data_handle(self.source, source)
        dnnl_memory_set_data_handle(self.weights, weights)
        dnnl_memory_set_data_handle(self.destination, destination)
        dnnl_memory_set_data_handle(self.scratchpad, scratchpad)
        if let memory = self.bias, let bias { dnnl_memory_set_data_handle(memory, bias) }
        arguments.withUnsafeBufferPointer { args in
            _ = dnnl_primitive_execute(primitive, stream, Int32(args.count), args.baseAddress)
        }
        _ = dnnl_stream_wait(stream)
    }
}
