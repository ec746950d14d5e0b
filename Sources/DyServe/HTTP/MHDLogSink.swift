import Foundation
import Logging

/// Where MHD's own diagnostics go: the server's logger at debug level (MHD reports routine client
/// misbehaviour, which must not flood the log), remembering the last line so a failed start can
/// say why.
final class MHDLogSink: @unchecked Sendable {
    private let logger: Logger
    private let lock = NSLock()
    private var last: String?  // guarded by lock

    init(logger: Logger) {
        self.logger = logger
    }

    func log(_ line: String) {
        var text = line
        while text.last == "\n" || text.last == "\r" { text.removeLast() }
        lock.lock()
        last = text
        lock.unlock()
        logger.debug("libmicrohttpd: \(text)")
    }

    var lastMessage: String? {
        lock.lock()
        defer { lock.unlock() }
        return last
    }
}
