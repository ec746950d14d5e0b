import Foundation

/// A server-wide allowance of bytes held at once (request bodies being read, response bodies
/// waiting to be written), shared by every connection. Reservations that would cross the limit
/// are refused instead of waiting, so the caller can answer 503 at once. Thread-safe.
final class ByteBudget: @unchecked Sendable {
    /// Most bytes reserved at once; `Int.max` means unbounded.
    let limit: Int
    private let lock = NSLock()
    private var reserved = 0  // guarded by lock

    init(limit: Int) {
        self.limit = limit
    }

    /// Reserves `count` bytes if they fit under the limit; false (nothing reserved) otherwise.
    func tryReserve(_ count: Int) -> Bool {
        lock.withLock {
            guard count <= limit - reserved else { return false }
            reserved += count
            return true
        }
    }

    func release(_ count: Int) {
        guard count > 0 else { return }
        lock.withLock { reserved -= count }
    }

    /// Bytes reserved now.
    var inUse: Int { lock.withLock { reserved } }
}
