#if os(Linux)
import CMicroHTTPD
import Foundation
import Glibc

/// Notices clients that hang up while their request is with the application.
///
/// MHD does not poll a suspended connection, so without this a client that goes away during a
/// long inference is noticed only when the response is written. The watcher keeps its own epoll
/// set holding just the sockets of suspended connections, registered for `EPOLLRDHUP` (peer
/// closed or reset) and not for input, so a pipelined next request does not count as a hang-up.
/// A client that half-closes its side after sending (`shutdown(SHUT_WR)`) looks the same as one
/// that left: its request is reported cancelled, though the response is still sent if the
/// application answers anyway.
///
/// The sockets belong to MHD. The owner removes a socket (`unwatch`) before resuming its
/// connection, the only point after which MHD may close it, so the watcher never sees a reused
/// descriptor. Linux only; elsewhere `make` returns nil and hang-ups are seen on completion.
final class HangupWatcher: @unchecked Sendable {
    private let epollFD: Int32
    private let wakeFD: Int32
    private let onHangup: @Sendable (UInt64) -> Void
    private let finished = DispatchSemaphore(value: 0)

    static func make(onHangup: @escaping @Sendable (UInt64) -> Void) -> HangupWatcher? {
        let epollFD = dyserve_epoll_create()
        guard epollFD >= 0 else { return nil }
        let wakeFD = dyserve_eventfd_create()
        guard wakeFD >= 0, dyserve_epoll_add_readable(epollFD, wakeFD, wakeToken) == 0 else {
            Glibc.close(epollFD)
            if wakeFD >= 0 { Glibc.close(wakeFD) }
            return nil
        }
        let watcher = HangupWatcher(epollFD: epollFD, wakeFD: wakeFD, onHangup: onHangup)
        let thread = Thread { watcher.run() }
        thread.name = "dyserve-hangup-watcher"
        thread.start()
        return watcher
    }

    /// The token of the wake-up eventfd; connection tokens are never this value.
    private static let wakeToken = UInt64.max

    private init(epollFD: Int32, wakeFD: Int32, onHangup: @escaping @Sendable (UInt64) -> Void) {
        self.epollFD = epollFD
        self.wakeFD = wakeFD
        self.onHangup = onHangup
    }

    /// Starts watching `fd`; `token` comes back through `onHangup` (once: the watch is one-shot).
    func watch(fd: Int32, token: UInt64) -> Bool {
        dyserve_epoll_add_hangup(epollFD, fd, token) == 0
    }

    func unwatch(fd: Int32) {
        _ = dyserve_epoll_remove(epollFD, fd)
    }

    /// Stops the thread and closes the watcher's own descriptors; waits for the thread to end.
    func shutdown() {
        _ = dyserve_eventfd_signal(wakeFD)
        finished.wait()
        Glibc.close(epollFD)
        Glibc.close(wakeFD)
    }

    private func run() {
        var tokens = [UInt64](repeating: 0, count: 32)
        loop: while true {
            let count = tokens.withUnsafeMutableBufferPointer {
                dyserve_epoll_wait_tokens(epollFD, $0.baseAddress, Int32($0.count))
            }
            if count < 0 { break }
            for token in tokens.prefix(Int(count)) {
                if token == Self.wakeToken { break loop }
                onHangup(token)
            }
        }
        finished.signal()
    }
}
#else
/// Hang-ups of suspended connections are only watched on Linux (epoll).
final class HangupWatcher: @unchecked Sendable {
    static func make(onHangup: @escaping @Sendable (UInt64) -> Void) -> HangupWatcher? { nil }
    func watch(fd: Int32, token: UInt64) -> Bool { false }
    func unwatch(fd: Int32) {}
    func shutdown() {}
}
#endif
