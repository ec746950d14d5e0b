import Foundation

/// The limits the HTTP server enforces itself, before the application sees a request.
public struct HTTPServerConfiguration: Sendable, Equatable {
    /// Larger bodies get 413: at once when `Content-Length` says so, otherwise once the chunked
    /// body crosses the limit. Bytes beyond the limit are never buffered.
    public var maxBodyBytes: Int
    /// Simultaneous TCP connections. At the limit MHD stops accepting: further connections wait
    /// in the kernel's listen backlog, unanswered, until a connection closes (they are not refused).
    public var maxConnections: Int
    /// Simultaneous connections from one IP address (0 = no limit). MHD accepts and at once
    /// closes a connection beyond it.
    public var maxConnectionsPerIP: Int
    /// Seconds a connection has to send a complete request header, from when it opens or ends its
    /// previous request (0 = no deadline). Past it the connection is closed without an answer.
    public var headerTimeoutSeconds: Int
    /// Seconds a request has to send its whole body once its header is in (0 = no deadline).
    public var bodyTimeoutSeconds: Int
    /// PEM certificate (chain) and private key: the server speaks HTTPS only when both are set.
    public var tlsCertificatePEM: String?
    public var tlsKeyPEM: String?
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

    /// The defaults are the configuration's (`ServiceConfig.Server` and `ServiceConfig.Limits`),
    /// written there only; `connectionMemoryLimitBytes` is not a configuration key.
    public init(maxBodyBytes: Int = ServiceConfig.Limits().maxBodyBytes,
                maxConnections: Int = ServiceConfig.Server().maxConnections,
                connectionTimeoutSeconds: Int = ServiceConfig.Server().connectionTimeoutSeconds,
                connectionMemoryLimitBytes: Int = 0,
                maxInflightBodyBytes: Int = ServiceConfig.Limits().maxInflightBodyBytes,
                maxInflightResponseBytes: Int = ServiceConfig.Limits().maxInflightResponseBytes,
                maxConnectionsPerIP: Int = ServiceConfig.Server().maxConnectionsPerIP,
                headerTimeoutSeconds: Int = ServiceConfig.Server().headerTimeoutSeconds,
                bodyTimeoutSeconds: Int = ServiceConfig.Server().bodyTimeoutSeconds,
                tlsCertificatePEM: String? = nil, tlsKeyPEM: String? = nil) {
        self.maxConnectionsPerIP = maxConnectionsPerIP
        self.headerTimeoutSeconds = headerTimeoutSeconds
        self.bodyTimeoutSeconds = bodyTimeoutSeconds
        self.tlsCertificatePEM = tlsCertificatePEM
        self.tlsKeyPEM = tlsKeyPEM
        self.maxBodyBytes = maxBodyBytes
        self.maxConnections = maxConnections
        self.connectionTimeoutSeconds = connectionTimeoutSeconds
        self.connectionMemoryLimitBytes = connectionMemoryLimitBytes
        self.maxInflightBodyBytes = maxInflightBodyBytes
        self.maxInflightResponseBytes = maxInflightResponseBytes
    }

    /// The server part of the service configuration, with the TLS files (when set) read.
    public init(_ config: ServiceConfig) throws(HTTPServerError) {
        self.init(maxBodyBytes: config.limits.maxBodyBytes, maxConnections: config.server.maxConnections,
                  connectionTimeoutSeconds: config.server.connectionTimeoutSeconds,
                  maxInflightBodyBytes: config.limits.maxInflightBodyBytes,
                  maxInflightResponseBytes: config.limits.maxInflightResponseBytes,
                  maxConnectionsPerIP: config.server.maxConnectionsPerIP,
                  headerTimeoutSeconds: config.server.headerTimeoutSeconds,
                  bodyTimeoutSeconds: config.server.bodyTimeoutSeconds)
        let server = config.server
        switch (server.tlsCertFile.isEmpty, server.tlsKeyFile.isEmpty) {
        case (true, true): break
        case (false, false):
            tlsCertificatePEM = try Self.readPEM(server.tlsCertFile, key: "server.tls_cert_file")
            tlsKeyPEM = try Self.readPEM(server.tlsKeyFile, key: "server.tls_key_file")
        default: throw HTTPServerError.incompleteTLS
        }
    }

    private static func readPEM(_ path: String, key: String) throws(HTTPServerError) -> String {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8),
              text.contains("-----BEGIN ") else {
            throw HTTPServerError.tlsFile(key: key, path: path)
        }
        return text
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
    /// Only one of the TLS certificate and key is set.
    case incompleteTLS
    /// A TLS file is missing, unreadable or not PEM.
    case tlsFile(key: String, path: String)

    public var description: String {
        switch self {
        case .invalidHost(let host, let reason): "cannot listen on host '\(host)': \(reason)"
        case .invalidPort(let port): "port \(port) is out of range 0...65535"
        case .alreadyStarted: "the HTTP server is already started"
        case .startFailed(let host, let port, let reason): "cannot listen on \(host):\(port): \(reason)"
        case .incompleteTLS: "TLS needs both server.tls_cert_file and server.tls_key_file"
        case .tlsFile(let key, let path): "\(key): cannot read a PEM file at '\(path)'"
        }
    }
}
