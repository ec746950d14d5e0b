import CDNNL
#if canImport(Glibc)
import Glibc
#endif

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
    /// AVX2 (with FMA and F16C) or better: the C kernels of the CDNNL shim may use their AVX2 versions.
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
        hasAVX2 = dnnl_get_effective_cpu_isa().rawValue >= dnnl_cpu_isa_avx2.rawValue
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

/// OpenMP's thread count for oneDNN. OpenMP reads `OMP_NUM_THREADS` when it starts (libgomp: when the
/// library loads), and `omp_set_num_threads` only affects the calling thread's later parallel regions,
/// so `FastEngine` sets the variable once and calls the function on the thread of every execution.
/// libgomp is a dependency of libdnnl, so the symbol is looked up at run time instead of linked.
enum OpenMPThreads {
    private typealias SetThreads = @convention(c) (Int32) -> Void

    private static let setter: SetThreads? = {
        guard let symbol = dlsym(nil, "omp_set_num_threads") else { return nil }
        return unsafeBitCast(symbol, to: SetThreads.self)
    }()

    typealias Parallel = @convention(c) ((@convention(c) (UnsafeMutableRawPointer?) -> Void)?, UnsafeMutableRawPointer?, UInt32, UInt32) -> Void
    typealias IntQuery = @convention(c) () -> Int32

    /// libgomp's `GOMP_parallel` (what `#pragma omp parallel` compiles to), to run the aggregation on
    /// the same thread pool as oneDNN; nil if the OpenMP runtime is not libgomp.
    static let parallel: Parallel? = {
        guard let symbol = dlsym(nil, "GOMP_parallel") else { return nil }
        return unsafeBitCast(symbol, to: Parallel.self)
    }()
    static let threadNumber: IntQuery? = {
        guard let symbol = dlsym(nil, "omp_get_thread_num") else { return nil }
        return unsafeBitCast(symbol, to: IntQuery.self)
    }()
    static let threadCount: IntQuery? = {
        guard let symbol = dlsym(nil, "omp_get_num_threads") else { return nil }
        return unsafeBitCast(symbol, to: IntQuery.self)
    }()

    typealias Barrier = @convention(c) () -> Void
    static let barrier: Barrier? = {
        guard let symbol = dlsym(nil, "GOMP_barrier") else { return nil }
        return unsafeBitCast(symbol, to: Barrier.self)
    }()

    /// Process-wide default for threads OpenMP has not started yet.
    static func setEnvironment(_ threads: Int) {
        setenv("OMP_NUM_THREADS", String(threads), 1)
    }

    /// The calling thread's next parallel regions use `threads` threads.
    static func apply(_ threads: Int) {
        setter?(Int32(threads))
    }
}

extension OpenMPThreads {
    /// libgomp's `omp_get_max_threads`: the team size the calling thread's next parallel region gets.
    static let maxThreads: IntQuery? = {
        guard let symbol = dlsym(nil, "omp_get_max_threads") else { return nil }
        return unsafeBitCast(symbol, to: IntQuery.self)
    }()

    /// What one parallel region costs this process, measured once (the median of 9 empty regions, after
    /// 2 that start the threads): a few microseconds when idle OpenMP threads spin (libgomp's default
    /// within its spin count), tens of microseconds when they sleep (`OMP_WAIT_POLICY=passive`), since
    /// every region then has to wake them. Measured on lane 0, whose team multi-threaded passes use, so
    /// the measurement starts no team of its own. `Int.max` when regions cannot run.
    static let regionNanoseconds: Int = {
        guard canRunRegions else { return Int.max }
        return OpenMPLane.shared(0).run {
            var times: [UInt64] = []
            for _ in 0..<11 {
                let start = monotonicNanoseconds()
                _ = forEachThread(max(2, Int(maxThreads?() ?? 2))) { _, _ in }
                times.append(monotonicNanoseconds() - start)
            }
            return Int(times.dropFirst(2).sorted()[4])
        }
    }()

    /// Whether splitting `elements` of work across the threads pays for the region: the threads must save
    /// more than the region costs (`savedPerElement`: nanoseconds the split saves per element, roughly half
    /// the serial cost), and never below `floor` elements. With sleeping threads this keeps small element-wise
    /// passes and aggregations on the calling thread, where a wake-up would cost more than it saves.
    static func worthSplitting(_ elements: Int, savedPerElement: Double, floor: Int,
                               regionNanoseconds: Int = regionNanoseconds) -> Bool {
        guard elements >= floor, regionNanoseconds < Int.max else { return false }
        return Double(elements) * savedPerElement > Double(regionNanoseconds)
    }

    /// Whether `forEachThread` can run, barriers included: libgomp's entry points were all found.
    static var canRunRegions: Bool { parallel != nil && threadNumber != nil && threadCount != nil && barrier != nil }

    /// Holds a region's Swift body for the C entry point that `GOMP_parallel` calls on every thread.
    private final class RegionBody: @unchecked Sendable {
        let body: (_ thread: Int, _ threads: Int) -> Void
        init(_ body: @escaping (Int, Int) -> Void) { self.body = body }
    }

    /// Runs `body(thread, threads)` once on each of up to `threads` OpenMP threads (the calling thread is
    /// thread 0) and returns when all have finished; false, without running it, when libgomp is not
    /// there. oneDNN primitives called inside run on their calling thread alone (oneDNN does not nest
    /// OpenMP regions), which is what lets the samples of a batch run side by side.
    static func forEachThread(_ threads: Int, _ body: (_ thread: Int, _ threads: Int) -> Void) -> Bool {
        guard canRunRegions, let parallel else { return false }
        withoutActuallyEscaping(body) { body in
            let box = RegionBody(body)
            withExtendedLifetime(box) {
                parallel({ raw in
                    guard let raw, let number = OpenMPThreads.threadNumber, let count = OpenMPThreads.threadCount else { return }
                    Unmanaged<RegionBody>.fromOpaque(raw).takeUnretainedValue().body(Int(number()), Int(count()))
                }, Unmanaged.passUnretained(box).toOpaque(), UInt32(threads), 0)
            }
        }
        return true
    }
}
