import Foundation

/// What the server knows about a request beyond its bytes, shared between the server thread and
/// whichever thread ends up answering. The main use is cancellation: long work can check
/// `isCancelled` or register `onCancel` and stop early once nobody is waiting for the answer.
///
/// A request is cancelled when its connection ends before the application responded: the client
/// hung up or timed out (noticed while the body is read, or when the response is queued), or the
/// server is stopping. While the handler works the connection is suspended, and MHD does not poll
/// it; `HangupWatcher` watches the suspended sockets instead (on Linux), so a client that hangs up
/// then cancels its request at once rather than when the response is delivered.
public final class RequestContext: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var cancelled = false
    private var cancelHandlers: [@Sendable () -> Void] = []

    /// The peer's address as text (`127.0.0.1:53122`), when the server knows it.
    public let remoteAddress: String?

    public init(remoteAddress: String? = nil) {
        self.remoteAddress = remoteAddress
    }

    /// True once nobody is waiting for this request's response any more.
    public var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }

    /// Runs `handler` once when the request is cancelled; at once (on this thread) if it already is.
    /// Handlers run on the thread that cancels, which may be the server's polling thread: keep them short.
    public func onCancel(_ handler: @escaping @Sendable () -> Void) {
        lock.lock()
        if cancelled {
            lock.unlock()
            handler()
            return
        }
        cancelHandlers.append(handler)
        lock.unlock()
    }

    /// Marks the request cancelled and runs the registered handlers, once.
    func cancel() {
        lock.lock()
        if cancelled {
            lock.unlock()
            return
        }
        cancelled = true
        let handlers = cancelHandlers
        cancelHandlers = []
        lock.unlock()
        for handler in handlers { handler() }
    }
}
