import CMicroHTTPD
import Foundation
import Logging

/// The HTTP/1.1 server: GNU libmicrohttpd with one internal polling thread on epoll.
///
/// The application sees complete requests through `HTTPHandler` and answers through `respond`,
/// from any thread, without holding the polling thread: the connection is suspended meanwhile.
/// The server itself answers 413 for bodies over `maxBodyBytes`, 503 for requests that arrive or
/// are still unanswered while it stops; MHD answers malformed requests (400) and oversized
/// headers (431) on its own.
///
/// Usage: `let server = HTTPServer(configuration: .init(config), handler: app)`,
/// `try server.start(host: "127.0.0.1", port: 0)`, read `server.boundPort`, later `server.stop()`.
public final class HTTPServer: @unchecked Sendable {
    public let configuration: HTTPServerConfiguration
    private let core: HTTPServerCore
    private let logSink: MHDLogSink

    private let lock = NSLock()
    // Guarded by `lock`.
    private var daemon: OpaquePointer?
    private var logTarget: UnsafeMutablePointer<dyserve_log_target>?
    private var port: Int?
    private var started = false
    /// The PEM texts handed to MHD, which keeps pointers to them until it stops.
    private var tlsStrings: [UnsafeMutablePointer<CChar>] = []

    public init(configuration: HTTPServerConfiguration, handler: any HTTPHandler,
                logger: Logger = Logger(label: "dyserve.http")) {
        self.configuration = configuration
        self.core = HTTPServerCore(configuration: configuration, handler: handler, logger: logger)
        self.logSink = MHDLogSink(logger: logger)
    }

    deinit {
        stop()
    }

    /// The port the server listens on (the kernel's choice when started with port 0), or nil
    /// when not running.
    public var boundPort: Int? {
        lock.lock()
        defer { lock.unlock() }
        return port
    }

    /// Requests the server is holding (reading, handling or answering); for tests and metrics.
    var liveRequestCount: Int { core.liveRequestCount }

    /// Binds `host:port` and starts serving on a background thread. A server starts at most once.
    public func start(host: String, port requestedPort: Int) throws(HTTPServerError) {
        let address = try ListenAddress(host: host, port: requestedPort)
        lock.lock()
        defer { lock.unlock() }
        guard !started else { throw HTTPServerError.alreadyStarted }

        var flags = MHD_USE_INTERNAL_POLLING_THREAD.rawValue | MHD_USE_EPOLL.rawValue
            | MHD_ALLOW_SUSPEND_RESUME.rawValue | MHD_USE_ERROR_LOG.rawValue
        if address.isIPv6 { flags |= MHD_USE_IPv6.rawValue }
        var tlsKey: UnsafeMutablePointer<CChar>?
        var tlsCertificate: UnsafeMutablePointer<CChar>?
        switch (configuration.tlsKeyPEM, configuration.tlsCertificatePEM) {
        case (nil, nil): break
        case (let key?, let certificate?):
            flags |= MHD_USE_TLS.rawValue
            tlsKey = strdup(key)
            tlsCertificate = strdup(certificate)
        default: throw HTTPServerError.incompleteTLS
        }
        let tlsCopies = [tlsKey, tlsCertificate].compactMap { $0 }

        let target = UnsafeMutablePointer<dyserve_log_target>.allocate(capacity: 1)
        target.initialize(to: dyserve_log_target(sink: mhdLogSink,
                                                  context: Unmanaged.passUnretained(logSink).toOpaque()))
        core.installHangupWatcher()
        core.deadlines.start()
        let corePointer = Unmanaged.passUnretained(core).toOpaque()
        let deadlinesPointer = core.deadlines.isEnabled ? Unmanaged.passUnretained(core.deadlines).toOpaque() : nil
        let created = address.withSockaddrPointer { sockaddrPointer in
            dyserve_mhd_start(
                UInt32(flags), sockaddrPointer,
                mhdAccessHandler, corePointer,
                mhdRequestCompleted, corePointer,
                UInt32(clamping: configuration.maxConnections),
                UInt32(clamping: configuration.connectionTimeoutSeconds),
                configuration.connectionMemoryLimitBytes,
                UInt32(clamping: configuration.maxConnectionsPerIP),
                deadlinesPointer == nil ? nil : mhdNotifyConnection, deadlinesPointer,
                tlsKey, tlsCertificate,
                target)
        }
        guard let created else {
            core.removeHangupWatcher()
            core.deadlines.stop()
            tlsCopies.forEach { free($0) }
            target.deallocate()
            throw HTTPServerError.startFailed(host: host, port: requestedPort,
                                              reason: Self.startFailureCause(logSink.lastMessage))
        }
        started = true
        daemon = created
        tlsStrings = tlsCopies
        logTarget = target
        port = Int(dyserve_mhd_bound_port(created))
        core.logger.info("HTTP server listening", metadata: ["host": "\(host)", "port": "\(port ?? 0)"])
    }

    /// Stops the server: unanswered requests get 503 (their contexts are cancelled), every
    /// suspended connection is resumed, answers already given are written (up to 5 seconds), then
    /// the daemon is stopped and all connections closed.
    /// Safe to call more than once and from any thread except from inside `HTTPHandler.handle`,
    /// which runs on the server's polling thread (stopping would wait for that thread).
    public func stop() {
        lock.lock()
        guard let running = daemon else {
            lock.unlock()
            return
        }
        daemon = nil
        port = nil
        let target = logTarget
        logTarget = nil
        let tlsCopies = tlsStrings
        tlsStrings = []
        lock.unlock()

        core.beginStopping()
        core.waitForAnsweredRequests(timeout: .seconds(5))
        core.waitForResumesInFlight()
        MHD_stop_daemon(running)
        core.removeHangupWatcher()
        core.deadlines.stop()
        tlsCopies.forEach { free($0) }
        target?.deinitialize(count: 1)
        target?.deallocate()
        core.logger.info("HTTP server stopped")
    }
}

extension HTTPServer {
    /// The cause in MHD's last message about a failed start. MHD is handed a socket address, not a
    /// port, so its bind message reads "Failed to bind to port 0: <cause>"; the port it names is
    /// not the one asked for, and the error already names the address, so only the cause is kept.
    static func startFailureCause(_ message: String?) -> String {
        guard let message else { return "libmicrohttpd refused to start" }
        let prefix = "Failed to bind to port "
        guard message.hasPrefix(prefix), let colon = message.range(of: ": ") else { return message }
        return "bind failed: " + message[colon.upperBound...]
    }
}
