import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A thread that runs the multi-threaded work of fast engines, so the process has exactly one OpenMP
/// team per execution that may run at the same time.
///
/// Why: libgomp gives every thread that starts a parallel region its own pool of worker threads, kept
/// until that thread exits. A waiting worker spins for `GOMP_SPINCOUNT` iterations (libgomp's default
/// is finite: it spins through the short serial gaps between a pass's many parallel regions and parks
/// soon after the pass), but only while libgomp manages no more threads than there are CPUs; past that
/// every wait is throttled to a few spins, so each of a pass's regions has to wake its workers from the
/// kernel. In a server, passes run on scheduler threads and models are loaded on another, so every one
/// of those threads would own a team: too many threads for libgomp, throttled waits, and with
/// `OMP_WAIT_POLICY=active` a loader's idle team spinning for minutes. Running every multi-threaded pass
/// and load of the engines that may not run at the same time on one lane keeps one team for them all.
///
/// Lanes are process-wide and numbered; a lane runs one piece of work at a time, in arrival order, and
/// work submitted from the lane's own thread runs at once (no hand-off).
final class OpenMPLane: @unchecked Sendable {
    private static let registryLock = NSLock()
    nonisolated(unsafe) private static var lanes: [Int: OpenMPLane] = [:]

    /// Lane `index` (>= 0), started on first use.
    static func shared(_ index: Int) -> OpenMPLane {
        registryLock.withLock {
            if let lane = lanes[index] { return lane }
            let lane = OpenMPLane(index: index)
            lanes[index] = lane
            return lane
        }
    }

    let index: Int
    // Guarded by `condition`.
    private let condition = NSCondition()
    private var pending: [Job] = []
    private var owner: pthread_t?

    private init(index: Int) {
        self.index = index
        let thread = Thread { [self] in self.loop() }
        // Convolution and reorder code may use deep stacks: the same room as the service's workers.
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Runs `body` on the lane's thread and returns its result; the caller blocks until it is done.
    func run<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        let onLane: Bool = condition.withLock {
            if let owner { return pthread_equal(owner, pthread_self()) != 0 }
            return false
        }
        if onLane { return try body() }
        var result: Result<T, E>?
        let done = DispatchSemaphore(value: 0)
        // `body` does not outlive this call: the lane drops the job before it signals `done`, and the
        // caller waits for that.
        withoutActuallyEscaping(body) { body in
            condition.withLock {
                pending.append(Job(work: { result = Result { () throws(E) -> T in try body() } }, done: done))
                condition.signal()
            }
            done.wait()
        }
        // `result` is set before `done` is signalled.
        return try result!.get()
    }

    private struct Job {
        var work: () -> Void
        let done: DispatchSemaphore
    }

    private func loop() {
        // Named from inside, where Foundation hands the name to the kernel (top -H, perf).
        Thread.current.name = "dynn-lane-\(index)"
        condition.withLock { owner = pthread_self() }
        while true {
            var job: Job? = condition.withLock {
                while pending.isEmpty { condition.wait() }
                return pending.removeFirst()
            }
            job?.work()
            let done = job?.done
            job = nil
            done?.signal()
        }
    }
}
