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
    /// Request-body bytes all connections together may hold, from the first byte read until the
    /// request completes (the application's copy included). A body that does not fit gets 503
    /// with `Retry-After`: at once when its `Content-Length` does not fit, else when it ends.
    public var maxInflightBodyBytes: Int
    /// Bytes of large response bodies (`PreparedResponse.largeBodyBytes` and up) all connections
    /// together may hold while they are written; a response that does not fit is replaced by 503
    /// with `Retry-After`.
    public var maxInflightResponseBytes: Int

    public init(maxBodyBytes: Int = 64 << 20, maxConnections: Int = 1024, connectionTimeoutSeconds: Int = 30,
                connectionMemoryLimitBytes: Int = 0, maxInflightBodyBytes: Int = 512 << 20,
                maxInflightResponseBytes: Int = 512 << 20) {
        self.maxBodyBytes = maxBodyBytes
        self.maxConnections = maxConnections
        self.connectionTimeoutSeconds = connectionTimeoutSeconds
        self.connectionMemoryLimitBytes = connectionMemoryLimitBytes
        self.maxInflightBodyBytes = maxInflightBodyBytes
        self.maxInflightResponseBytes = maxInflightResponseBytes
    }

    /// The server part of the service configuration.
    public init(_ config: ServiceConfig) {
        self.init(maxBodyBytes: config.limits.maxBodyBytes, maxConnections: config.server.maxConnections,
                  connectionTimeoutSeconds: config.server.connectionTimeoutSeconds,
                  maxInflightBodyBytes: config.limits.maxInflightBodyBytes,
                  maxInflightResponseBytes: config.limits.maxInflightResponseBytes)
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
