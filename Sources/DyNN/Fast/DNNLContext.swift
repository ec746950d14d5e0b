import CDNNL

/// Throws `FastEngineError.dnnl` unless `status` is success.
@inline(__always)
func dnnlCheck(_ status: dnnl_status_t, _ call: String, node: String? = nil) throws(FastEngineError) {
    guard status == dnnl_success else { throw .dnnl(call: call, status: status.rawValue, node: node) }
}

/// One oneDNN CPU engine and its streams, owned by a `FastEngine`. Executions go through the engine's
/// lock; within one, thread `t` of a sample-parallel region uses `streams[t]` alone.
final class DNNLContext: @unchecked Sendable {
    let engine: dnnl_engine_t
    /// One stream per worker thread; `streams[0]` is the calling thread's.
    let streams: [dnnl_stream_t]
    var stream: dnnl_stream_t { streams[0] }
    /// AVX2 (with FMA and F16C) or better, and a build with the shim's AVX2 kernels (x86-64, without
    /// DYSERVE_PORTABLE_KERNELS): the C kernels of the CDNNL shim may use their AVX2 versions.
    let hasAVX2: Bool

    init(workers: Int = 1) throws(FastEngineError) {
        var engine: dnnl_engine_t?
        try dnnlCheck(dnnl_engine_create(&engine, dnnl_cpu, 0), "dnnl_engine_create")
        guard let engine else { throw .dnnl(call: "dnnl_engine_create", status: 0, node: nil) }
        var streams: [dnnl_stream_t] = []
        for _ in 0..<max(workers, 1) {
            var stream: dnnl_stream_t?
            let status = dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue)
            guard status == dnnl_success, let stream else {
                for stream in streams { dnnl_stream_destroy(stream) }
                dnnl_engine_destroy(engine)
                throw .dnnl(call: "dnnl_stream_create", status: status.rawValue, node: nil)
            }
            streams.append(stream)
        }
        self.engine = engine
        self.streams = streams
        // Ordered ISA values: every AVX2 level and above (avx2, avx2_vnni, avx512_*, amx) compares greater.
        hasAVX2 = dy_avx2_kernels_enabled() != 0 && dnnl_get_effective_cpu_isa().rawValue >= dnnl_cpu_isa_avx2.rawValue
    }

    deinit {
        for stream in streams { dnnl_stream_destroy(stream) }
        dnnl_engine_destroy(engine)
    }

    /// Copies `source` (described by `sourceDesc`) into `target` laid out as `targetDesc`, once, at load time.
    func reorder(_ sourceDesc: dnnl_memory_desc_t, _ source: UnsafeRawPointer,
                 into targetDesc: dnnl_memory_desc_t, _ target: UnsafeMutableRawPointer,
                 node: String) throws(FastEngineError) {
        var sourceDesc = sourceDesc, targetDesc = targetDesc
        var pd: dnnl_primitive_desc_t?
        try dnnlCheck(dnnl_reorder_primitive_desc_create(&pd, &sourceDesc, engine, &targetDesc, engine, nil),
                      "dnnl_reorder_primitive_desc_create", node: node)
        defer { dnnl_primitive_desc_destroy(pd) }
        var primitive: dnnl_primitive_t?
        try dnnlCheck(dnnl_primitive_create(&primitive, pd), "dnnl_primitive_create (reorder)", node: node)
        defer { dnnl_primitive_destroy(primitive) }
        var sourceMemory: dnnl_memory_t?, targetMemory: dnnl_memory_t?
        try dnnlCheck(dnnl_memory_create(&sourceMemory, &sourceDesc, engine, UnsafeMutableRawPointer(mutating: source)),
                      "dnnl_memory_create", node: node)
        defer { dnnl_memory_destroy(sourceMemory) }
        try dnnlCheck(dnnl_memory_create(&targetMemory, &targetDesc, engine, target), "dnnl_memory_create", node: node)
        defer { dnnl_memory_destroy(targetMemory) }
        var arguments = [dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: sourceMemory),
                         dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: targetMemory)]
        try dnnlCheck(dnnl_primitive_execute(primitive, stream, 2, &arguments), "dnnl_primitive_execute (reorder)", node: node)
        try dnnlCheck(dnnl_stream_wait(stream), "dnnl_stream_wait", node: node)
    }

    /// A memory object for `desc` without data: executions point it at their buffers on every call.
    func emptyMemory(_ desc: dnnl_memory_desc_t, node: String) throws(FastEngineError) -> dnnl_memory_t {
        var desc = desc
        var memory: dnnl_memory_t?
        try dnnlCheck(dnnl_memory_create(&memory, &desc, engine, nil), "dnnl_memory_create", node: node)
        guard let memory else { throw .dnnl(call: "dnnl_memory_create", status: 0, node: node) }
        return memory
    }

    /// Primitive attributes asking for a user-managed scratchpad, so the caller owns every byte a
    /// primitive touches. The caller destroys them.
    static func userScratchpadAttributes(node: String) throws(FastEngineError) -> dnnl_primitive_attr_t {
        var attributes: dnnl_primitive_attr_t?
        try dnnlCheck(dnnl_primitive_attr_create(&attributes), "dnnl_primitive_attr_create", node: node)
        guard let attributes else { throw .dnnl(call: "dnnl_primitive_attr_create", status: 0, node: node) }
        let status = dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user)
        guard status == dnnl_success else {
            dnnl_primitive_attr_destroy(attributes)
            throw .dnnl(call: "dnnl_primitive_attr_set_scratchpad_mode", status: status.rawValue, node: node)
        }
        return attributes
    }

    /// A plain (row-major) f32 memory descriptor with the given dims and tag.
    static func plainDesc(_ dims: [Int], _ tag: dnnl_format_tag_t) throws(FastEngineError) -> dnnl_memory_desc_t {
        var desc = dnnl_memory_desc_t()
        let dims64 = dims.map { Int64($0) }
        try dnnlCheck(dnnl_memory_desc_init_by_tag(&desc, Int32(dims.count), dims64, dnnl_f32, tag),
                      "dnnl_memory_desc_init_by_tag")
        return desc
    }
}
