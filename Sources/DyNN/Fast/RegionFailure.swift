import Foundation

/// The first error thrown on any thread of a parallel region. OpenMP threads run Swift code through a C
/// entry point that cannot carry an error, so each thread records what failed here and the calling
/// thread rethrows it once the region has ended; a thread that sees an earlier failure stops early.
final class RegionFailure: @unchecked Sendable {
    private let lock = NSLock()
    private var first: FastEngineError?

    /// Runs `body` on the calling thread, keeping its error when it is the region's first.
    func record(_ body: () throws(FastEngineError) -> Void) {
        do {
            try body()
        } catch {
            lock.withLock { if first == nil { first = error } }
        }
    }

    /// Whether some thread has failed: the others need not finish work whose result is thrown away.
    var failed: Bool { lock.withLock { first != nil } }

    /// Throws the recorded error, if any; call after the region.
    func rethrow() throws(FastEngineError) {
        if let error = lock.withLock({ first }) { throw error }
    }
}
