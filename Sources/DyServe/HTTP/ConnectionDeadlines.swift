import CMicroHTTPD
import Foundation

/// Deadlines libmicrohttpd 0.9.75 does not have: for a connection to complete its request's
/// header (`server.header_timeout_s`) and, once the header is in, its body
/// (`server.body_timeout_s`). MHD's own timeout only measures idleness, so a client that sends a
/// byte every few seconds would hold a connection (and, at `max_connections`, the server) forever.
///
/// MHD tells us when a connection opens and closes (`MHD_OPTION_NOTIFY_CONNECTION`, on its
/// polling thread) and the access handler tells us when the header and body are done. A checker
/// thread shuts down (never closes: the descriptor stays MHD's) the socket of a connection past
/// its deadline; MHD then sees the peer gone and closes the connection itself. The connection's
/// entry is removed under `lock` before MHD closes the descriptor, so a descriptor number reused
/// by a newer connection is never shut down by mistake.
///
/// The header deadline runs from when a connection opens or finishes its previous request, so an
/// idle keep-alive connection is closed after `header_timeout_s` too.
final class ConnectionDeadlines: @unchecked Sendable {
    private enum Phase {
        case awaitingHeader
        case receivingBody
        /// The request is with the application or being answered: MHD's idle timeout applies.
        case exempt
    }

    private struct Entry {
        var fd: Int32
        var phase: Phase
        var deadline: ContinuousClock.Instant
    }

    private let headerTimeout: Duration?
    private let bodyTimeout: Duration?
    private let clock = ContinuousClock()
    private let lock = NSLock()
    private let wake = NSCondition()
    // Guarded by `lock`.
    private var entries: [UInt: Entry] = [:]
    private var stopped = false

    /// Seconds of 0 disable that deadline.
    init(headerTimeoutSeconds: Int, bodyTimeoutSeconds: Int) {
        headerTimeout = headerTimeoutSeconds > 0 ? .seconds(headerTimeoutSeconds) : nil
        bodyTimeout = bodyTimeoutSeconds > 0 ? .seconds(bodyTimeoutSeconds) : nil
    }

    var isEnabled: Bool { headerTimeout != nil || bodyTimeout != nil }

    func start() {
        guard isEnabled else { return }
        let checker = Thread { [self] in run() }
        checker.name = "dyserve-deadlines"
        checker.start()
    }

    func stop() {
        lock.withLock { stopped = true }
        wake.lock()
        wake.signal()
        wake.unlock()
    }

    private static func key(_ connection: OpaquePointer) -> UInt { UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(connection))) }

    /// MHD accepted the connection, or the connection finished a request and waits for the next.
    func awaitHeader(_ connection: OpaquePointer) {
        set(connection, phase: .awaitingHeader, timeout: headerTimeout)
    }

    /// The header is complete; the body (if any) follows.
    func awaitBody(_ connection: OpaquePointer) {
        set(connection, phase: .receivingBody, timeout: bodyTimeout)
    }

    /// The request is complete and with the application.
    func exempt(_ connection: OpaquePointer) {
        set(connection, phase: .exempt, timeout: nil)
    }

    /// MHD is about to close the connection's socket.
    func closed(_ connection: OpaquePointer) {
        guard isEnabled else { return }
        _ = lock.withLock { entries.removeValue(forKey: Self.key(connection)) }
    }

    private func set(_ connection: OpaquePointer, phase: Phase, timeout: Duration?) {
        guard isEnabled else { return }
        let key = Self.key(connection)
        let deadline = timeout.map { clock.now.advanced(by: $0) } ?? clock.now.advanced(by: .seconds(86_400 * 365))
        lock.withLock {
            if var entry = entries[key] {
                entry.phase = phase
                entry.deadline = deadline
                entries[key] = entry
            } else {
                let fd = dyserve_mhd_connection_fd(connection)
                if fd >= 0 { entries[key] = Entry(fd: fd, phase: phase, deadline: deadline) }
            }
        }
    }

    private func run() {
        while true {
            let now = clock.now
            let done: Bool = lock.withLock {
                if stopped { return true }
                for (key, entry) in entries where entry.phase != .exempt && entry.deadline <= now {
                    _ = dyserve_shutdown_socket(entry.fd)
                    entries[key]?.phase = .exempt  // shut down once; MHD closes it shortly
                }
                return false
            }
            if done { return }
            wake.lock()
            _ = wake.wait(until: Date().addingTimeInterval(0.25))
            wake.unlock()
        }
    }
}

/// MHD_NotifyConnectionCallback: a connection opened or is about to be closed.
func mhdNotifyConnection(_ cls: UnsafeMutableRawPointer?, _ connection: OpaquePointer?,
                         _ socketContext: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                         _ code: MHD_ConnectionNotificationCode) {
    guard let cls, let connection else { return }
    let deadlines = Unmanaged<ConnectionDeadlines>.fromOpaque(cls).takeUnretainedValue()
    if code == .CONNECTION_NOTIFY_STARTED {
        deadlines.awaitHeader(connection)
    } else {
        deadlines.closed(connection)
    }
}
