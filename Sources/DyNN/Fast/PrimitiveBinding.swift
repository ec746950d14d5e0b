import CDNNL

/// The oneDNN memory objects that bind a primitive's arguments (source, weights, optional bias,
/// destination, scratchpad: a convolution's or a matmul's) to buffers. A memory object holds one data
/// pointer, so threads that run the same primitive at the same time (the samples of a batch running
/// side by side) each need their own binding; the primitive itself is shared.
final class PrimitiveBinding: @unchecked Sendable {
    private let source: dnnl_memory_t
    private let destination: dnnl_memory_t
    private let weights: dnnl_memory_t
    private let bias: dnnl_memory_t?
    private let scratchpad: dnnl_memory_t
    private let arguments: [dnnl_exec_arg_t]
    /// The graph node this binding serves, named by its errors.
    let node: String

    init(context: DNNLContext, descriptors: PrimitiveDescriptors, node: String) throws(FastEngineError) {
        self.node = node
        source = try context.emptyMemory(descriptors.source, node: node)
        destination = try context.emptyMemory(descriptors.destination, node: node)
        weights = try context.emptyMemory(descriptors.weights, node: node)
        scratchpad = try context.emptyMemory(descriptors.scratchpad, node: node)
        bias = try descriptors.bias.map { (desc) throws(FastEngineError) in try context.emptyMemory(desc, node: node) }
        var arguments = [dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: source),
                         dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS, memory: weights),
                         dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: destination),
                         dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: scratchpad)]
        if let bias { arguments.append(dnnl_exec_arg_t(arg: DNNL_ARG_BIAS, memory: bias)) }
        self.arguments = arguments
    }

    deinit {
        for memory in [source, destination, weights, scratchpad] { dnnl_memory_destroy(memory) }
        if let bias { dnnl_memory_destroy(bias) }
    }

    /// Runs `primitive` on the given buffers through `stream`; synchronous. Every oneDNN status is checked:
    /// a failed execution throws (naming the call, status and node) rather than leaving stale output.
    func execute(_ primitive: dnnl_primitive_t, stream: dnnl_stream_t, source: UnsafeMutableRawPointer,
                 weights: UnsafeMutableRawPointer, bias: UnsafeMutableRawPointer?,
                 destination: UnsafeMutableRawPointer, scratchpad: UnsafeMutableRawPointer) throws(FastEngineError) {
        try dnnlCheck(dnnl_memory_set_data_handle(self.source, source), "dnnl_memory_set_data_handle", node: node)
        try dnnlCheck(dnnl_memory_set_data_handle(self.weights, weights), "dnnl_memory_set_data_handle", node: node)
        try dnnlCheck(dnnl_memory_set_data_handle(self.destination, destination), "dnnl_memory_set_data_handle", node: node)
        try dnnlCheck(dnnl_memory_set_data_handle(self.scratchpad, scratchpad), "dnnl_memory_set_data_handle", node: node)
        if let memory = self.bias, let bias {
            try dnnlCheck(dnnl_memory_set_data_handle(memory, bias), "dnnl_memory_set_data_handle", node: node)
        }
        let status = arguments.withUnsafeBufferPointer { args in
            dnnl_primitive_execute(primitive, stream, Int32(args.count), args.baseAddress)
        }
        try dnnlCheck(status, "dnnl_primitive_execute", node: node)
        try dnnlCheck(dnnl_stream_wait(stream), "dnnl_stream_wait", node: node)
    }
}

/// The memory descriptors of one primitive's arguments (bias nil when it has none).
struct PrimitiveDescriptors {
    var source: dnnl_memory_desc_t
    var destination: dnnl_memory_desc_t
    var weights: dnnl_memory_desc_t
    var bias: dnnl_memory_desc_t?
    var scratchpad: dnnl_memory_desc_t
}
