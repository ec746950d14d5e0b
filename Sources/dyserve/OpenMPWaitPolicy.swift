import Foundation

/// oneDNN runs on libgomp, whose idle threads spin by default. The server's HTTP and scheduler
/// threads share the cores with them, and with spinning workers a pass measured 5-100x slower under
/// load (see BENCHMARKS.md). libgomp reads `OMP_WAIT_POLICY` once, when it is loaded at process
/// start, so setting it later has no effect: the only way to apply it is to start again with it set.
enum OpenMPWaitPolicy {
    /// Re-executes this process with `OMP_WAIT_POLICY=passive` unless the variable is already set
    /// (an explicit choice wins). Returns only when it is set, or when re-executing failed.
    static func ensurePassive() {
        guard ProcessInfo.processInfo.environment["OMP_WAIT_POLICY"] == nil else { return }
        setenv("OMP_WAIT_POLICY", "passive", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Only reached if exec failed: carry on with libgomp's default policy.
        FileHandle.standardError.write(Data("dyserve: could not restart with OMP_WAIT_POLICY=passive (errno \(errno)); continuing\n".utf8))
    }
}
