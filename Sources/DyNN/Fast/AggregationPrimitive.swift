import CDNNL

/// `kernels[N, M] = pi[N, K] x bank[K, M]` as a oneDNN matmul over an fp32 expert bank: the
/// aggregation of all N samples' kernels in one call, spread over oneDNN's threads, each expert read
/// once per batch. Created once per layer and batch size.
final class AggregationPrimitive: @unchecked Sendable {
    let scratchpadBytes: Int
    private let descriptor: dnnl_primitive_desc_t
    private let primitive: dnnl_primitive_t
    private let routing: dnnl_memory_t
    private let bank: dnnl_memory_t
    private let kernels: dnnl_memory_t
    private let scratchpad: dnnl_memory_t
    private var arguments: [dnnl_exec_arg_t]

    init(context: DNNLContext, samples: Int, experts: Int, count: Int, node: String) throws(FastEngineError) {
        var routingDesc = try DNNLContext.plainDesc([samples, experts], dnnl_ab)
        var bankDesc = try DNNLContext.plainDesc([experts, count], dnnl_ab)
        var kernelsDesc = try DNNLContext.plainDesc([samples, count], dnnl_ab)
        var matmul = dnnl_matmul_desc_t()
        try dnnlCheck(dnnl_matmul_desc_init(&matmul, &routingDesc, &bankDesc, nil, &kernelsDesc), "dnnl_matmul_desc_init", node: node)
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
        routing = try memory(&routingDesc)
        bank = try memory(&bankDesc)
        kernels = try memory(&kernelsDesc)
        scratchpad = try memory(&scratchDesc)
        arguments = [dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: routing),
                     dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS, memory: bank),
                     dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: kernels),
                     dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: scratchpad)]
    }

    deinit {
        for memory in [routing, bank, kernels, scratchpad] { dnnl_memory_destroy(memory) }
        dnnl_primitive_destroy(primitive)
        dnnl_primitive_desc_destroy(descriptor)
    }

    func execute(stream: dnnl_stream_t, pi: UnsafeMutablePointer<Float>, bank: UnsafeMutableRawPointer,
                 into kernels: UnsafeMutablePointer<Float>, scratchpad: UnsafeMutableRawPointer) {
        dnnl_memory_set_data_handle(routing, pi)
        dnnl_memory_set_data_handle(self.bank, bank)
        dnnl_memory_set_data_handle(self.kernels, kernels)
        dnnl_memory_set_data_handle(self.scratchpad, scratchpad)
        let count = Int32(arguments.count)
        arguments.withUnsafeBufferPointer { args in
            _ = dnnl_primitive_execute(primitive, stream, count, args.baseAddress)
        }
        _ = dnnl_stream_wait(stream)
    }
}
