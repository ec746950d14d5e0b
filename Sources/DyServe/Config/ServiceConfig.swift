/// The whole service configuration, resolved once at start-up and then read-only.
///
/// Sources, lowest to highest precedence (see `ServiceConfig.load`):
/// 1. the defaults below (`ServiceConfig()`),
/// 2. a YAML file (`config/dyserve.yaml` documents every key),
/// 3. environment variables `DYSERVE_<SECTION>_<KEY>` (upper-case) and the short aliases
///    `DYSERVE_HOST`, `DYSERVE_PORT`, `DYSERVE_MODELS_DIR`, `DYSERVE_LOG_LEVEL`,
/// 4. command-line flags, passed by the caller as `ConfigOverride`s.
public struct ServiceConfig: Sendable, Equatable {
    public var server: Server
    public var limits: Limits
    public var models: Models
    public var attentionStore: AttentionStore
    public var inference: Inference
    public var logLevel: LogLevel

    public init(server: Server = Server(), limits: Limits = Limits(), models: Models = Models(),
                attentionStore: AttentionStore = AttentionStore(), inference: Inference = Inference(),
                logLevel: LogLevel = .info) {
        self.server = server
        self.limits = limits
        self.models = models
        self.attentionStore = attentionStore
        self.inference = inference
        self.logLevel = logLevel
    }

    /// YAML section `server`.
    public struct Server: Sendable, Equatable {
        /// `server.host`: address to bind; the default keeps the service off the network.
        public var host: String
        /// `server.port`: TCP port, 0...65535 (0 asks the kernel for a free port).
        public var port: Int
        /// `server.max_connections`: simultaneous TCP connections; more are refused by the server.
        public var maxConnections: Int
        /// `server.connection_timeout_s`: idle seconds before a connection is closed (0 = never).
        public var connectionTimeoutSeconds: Int

        public init(host: String = "127.0.0.1", port: Int = 8080, maxConnections: Int = 1024,
                    connectionTimeoutSeconds: Int = 30) {
            self.host = host
            self.port = port
            self.maxConnections = maxConnections
            self.connectionTimeoutSeconds = connectionTimeoutSeconds
        }
    }

    /// YAML section `limits`: bounds on what one request may make the service do.
    public struct Limits: Sendable, Equatable {
        /// `limits.max_body_bytes`: larger request bodies get 413 before or while being read.
        public var maxBodyBytes: Int
        /// `limits.max_tensor_elements`: largest input tensor a request may describe.
        public var maxTensorElements: Int
        /// `limits.max_json_depth`: deepest JSON nesting the request decoder accepts.
        public var maxJSONDepth: Int

        public init(maxBodyBytes: Int = 64 << 20, maxTensorElements: Int = 16_777_216,
                    maxJSONDepth: Int = 64) {
            self.maxBodyBytes = maxBodyBytes
            self.maxTensorElements = maxTensorElements
            self.maxJSONDepth = maxJSONDepth
        }
    }

    /// YAML section `models`.
    public struct Models: Sendable, Equatable {
        /// `models.directory`: folder holding one sub-folder per model.
        public var directory: String
        /// `models.names`: the models to load; `nil` means every model folder in `directory`.
        public var names: [String]?

        public init(directory: String = "models", names: [String]? = nil) {
            self.directory = directory
            self.names = names
        }
    }

    /// YAML section `attention_store`: bounded store of per-request attention traces.
    public struct AttentionStore: Sendable, Equatable {
        /// `attention_store.max_entries`: oldest entries are evicted beyond this count (0 disables the store).
        public var maxEntries: Int
        /// `attention_store.max_bytes`: oldest entries are evicted beyond this many bytes.
        public var maxBytes: Int

        public init(maxEntries: Int = 1000, maxBytes: Int = 64 << 20) {
            self.maxEntries = maxEntries
            self.maxBytes = maxBytes
        }
    }

    /// YAML section `inference`.
    public struct Inference: Sendable, Equatable {
        /// `inference.threads`: compute threads; 0 means one per available core.
        public var threads: Int

        public init(threads: Int = 0) {
            self.threads = threads
        }
    }
}
