import Foundation

/// oneDNN runs on libgomp. A pass has many short parallel regions separated by serial work, so its
/// speed is set by how fast idle workers answer the next region: spinning forever (`active`) takes cores
/// from everything else once a pass ends, sleeping at once (`passive`) pays a wake-up per region.
/// The engine keeps one OpenMP team per lane (DyNN's `OpenMPLane`), so a finite spin count takes effect:
/// workers spin through the gaps of a pass and sleep shortly after it (BENCHMARKS.md, served mode).
/// libgomp reads `OMP_WAIT_POLICY` and `GOMP_SPINCOUNT` once, when it is loaded at process start, so the
/// only way to apply them is to start again with them set.
enum OpenMPWaitPolicy {
    /// Iterations a waiting libgomp thread spins before it sleeps: long enough to cover the serial
    /// work between two layers, short enough that idle workers go to sleep soon after a request.
    static let spinCount = "3000000"

    /// Re-executes this process with `GOMP_SPINCOUNT` set to `spinCount`, unless `OMP_WAIT_POLICY` or
    /// `GOMP_SPINCOUNT` is already set (an explicit choice wins, e.g. `OMP_WAIT_POLICY=passive` on
    /// shared, unpinned cores). Returns only when one is set, or when re-executing failed.
    static func ensureFiniteSpin() {
        let environment = ProcessInfo.processInfo.environment
        guard environment["OMP_WAIT_POLICY"] == nil, environment["GOMP_SPINCOUNT"] == nil else { return }
        setenv("GOMP_SPINCOUNT", spinCount, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Only reached if exec failed: carry on with libgomp's default policy, and say so.
        FileHandle.standardError.write(Data("dyserve: could not restart with GOMP_SPINCOUNT=\(spinCount) (errno \(errno)); continuing with libgomp's default waiting\n".utf8))
    }
}
