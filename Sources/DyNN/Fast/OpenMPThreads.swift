#if canImport(Glibc)
import Glibc
#endif

/// The OpenMP runtime oneDNN runs on (libgomp), reached through its entry points: thread counts, and
/// parallel regions of our own on the same threads. libgomp reads `OMP_NUM_THREADS` once, when it
/// loads at process start, so changing the variable later changes nothing in this process; a thread
/// count is applied with `omp_set_num_threads`, which affects only the calling thread's later regions,
/// so `FastEngine` applies its count on the thread of every execution. libgomp is a dependency of
/// libdnnl, so the symbols are looked up at run time instead of linked.
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
