import CDNNL

/// The oneDNN memory objects that bind a `ConvPrimitive`'s arguments to buffers. A memory object holds
/// one data pointer, so threads that run the same primitive at the same time (the samples of a batch
/// running side by side) each need their own binding; the primitive itself is shared.
final class ConvBinding: @unchecked Sendable {
    private let source: dnnl_memory_t
    private let destination: dnnl_memory_t
    private let weights: dnnl_memory_t
    private let bias: dnnl_memory_t?
    private let scratchpad: dnnl_memory_t
    private let arguments: [dnnl_exec_arg_t]

    init(context: DNNLContext, descriptors: ConvDescriptors, node: String) throws(FastEngineError) {
        func memory(_ desc: dnnl_memory_desc_t) throws(FastEngineError) -> dnnl_memory_t {
            var desc = desc
            var memory: dnnl_memory_t?
            // No data yet: `execute` points the object at the caller's buffer on every call.
            try dnnlCheck(dnnl_memory_create(&memory, &desc, context.engine, nil), "dnnl_memory_create", node: node)
            return memory!
        }
        source = try memory(descriptors.source)
        destination = try memory(descriptors.destination)
        weights = try memory(descriptors.weights)
        scratchpad = try memory(descriptors.scratchpad)
        bias = try descriptors.bias.map { (desc) throws(FastEngineError) in try memory(desc) }
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

    /// Runs `primitive` on the given buffers through `stream`; synchronous.
    func execute(_ primitive: dnnl_primitive_t, stream: dnnl_stream_t, source: UnsafeMutableRawPointer,
                 weights: UnsafeMutableRawPointer, bias: UnsafeMutableRawPointer?,
                 destination: UnsafeMutableRawPointer, scratchpad: UnsafeMutableRawPointer) {
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

/// The memory descriptors of one convolution primitive's arguments (bias nil when it has none).
struct ConvDescriptors {
    var source: dnnl_memory_desc_t
    var destination: dnnl_memory_desc_t
    var weights: dnnl_memory_desc_t
    var bias: dnnl_memory_desc_t?
    var scratchpad: dnnl_memory_desc_t
}
