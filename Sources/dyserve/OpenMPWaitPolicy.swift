import Foundation

/// oneDNN runs on libgomp, whose waiting threads spin by default. The server's HTTP and scheduler
/// threads and other processes share the cores with them, and with spinning workers a pass measured
/// several times slower when the cores are shared (see BENCHMARKS.md). libgomp reads `OMP_WAIT_POLICY`
/// and `GOMP_SPINCOUNT` once, when it is loaded at process start, so setting them later has no effect:
/// the only way to apply them is to start again with them set. Since the engine keeps one OpenMP team
/// per lane (DyNN's `OpenMPLane`), a finite `GOMP_SPINCOUNT` now takes effect as set; pass one to compare.
enum OpenMPWaitPolicy {
    /// Re-executes this process with `OMP_WAIT_POLICY=passive` unless `OMP_WAIT_POLICY` or
    /// `GOMP_SPINCOUNT` is already set (an explicit choice wins). Returns only when one is set, or when
    /// re-executing failed.
    static func ensurePassive() {
        let environment = ProcessInfo.processInfo.environment
        guard environment["OMP_WAIT_POLICY"] == nil, environment["GOMP_SPINCOUNT"] == nil else { return }
        setenv("OMP_WAIT_POLICY", "passive", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Only reached if exec failed: carry on with libgomp's default policy.
        FileHandle.standardError.write(Data("dyserve: could not restart with OMP_WAIT_POLICY=passive (errno \(errno)); continuing\n".utf8))
    }
}
