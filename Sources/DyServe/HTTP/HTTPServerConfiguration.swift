/// The limits the HTTP server enforces itself, before the application sees a request.
public struct HTTPServerConfiguration: Sendable, Equatable {
    /// Larger bodies get 413: at once when `Content-Length` says so, otherwise once the chunked
    /// body crosses the limit. Bytes beyond the limit are never buffered.
    public var maxBodyBytes: Int
    /// Simultaneous TCP connections; MHD refuses further ones.
    public var maxConnections: Int
    /// Idle seconds before MHD closes a connection (0 = never).
    public var connectionTimeoutSeconds: Int
    /// MHD's per-connection buffer, which bounds the request line plus headers (MHD answers 431
    /// or 400 beyond it). 0 keeps MHD's default of 32 KiB.
    public var connectionMemoryLimitBytes: Int

    public init(maxBodyBytes: Int = 64 << 20, maxConnections: Int = 1024, connectionTimeoutSeconds: Int = 30,
                connectionMemoryLimitBytes: Int = 0) {
        self.maxBodyBytes = maxBodyBytes
        self.maxConnections = maxConnections
        self.connectionTimeoutSeconds = connectionTimeoutSeconds
        self.connectionMemoryLimitBytes = connectionMemoryLimitBytes
    }

    /// The server part of the service configuration.
    public init(_ config: ServiceConfig) {
        self.init(maxBodyBytes: config.limits.maxBodyBytes, maxConnections: config.server.maxConnections,
                  connectionTimeoutSeconds: config.server.connectionTimeoutSeconds)
    }
}

/// Why the server could not start.
public enum HTTPServerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The host is neither an IP address nor a name that resolves.
    case invalidHost(String, reason: String)
    case invalidPort(Int)
    case alreadyStarted
    /// MHD refused to start, typically because the address is in use; `reason` is MHD's own message.
    case startFailed(host: String, port: Int, reason: String)

    public var description: String {
        switch self {
        case .invalidHost(let host, let reason): "cannot listen on host '\(host)': \(reason)"
        case .invalidPort(let port): "port \(port) is out of range 0...65535"
        case .alreadyStarted: "the HTTP server is already started"
        case .startFailed(let host, let port, let reason): "cannot listen on \(host):\(port): \(reason)"
        }
    }
}
