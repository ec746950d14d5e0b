import DyNN
import Logging

/// The whole service configuration, resolved once at start-up and then read-only.
///
/// The initializers below hold the one copy of every default: `SchedulerSettings`, `APILimits`
/// and `HTTPServerConfiguration` take theirs from here, and `config/dyserve.yaml` lists every key
/// with these values (a test compares the two).
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
    public var scheduler: Scheduler
    /// `log_level`: swift-log's level names (`trace` ... `critical`).
    public var logLevel: Logger.Level
    public var metrics: Metrics
    /// API keys and scopes (Sources/DyServe/Auth); off unless keys are configured.
    public var auth = Auth()

    public init(server: Server = Server(), limits: Limits = Limits(), models: Models = Models(),
                attentionStore: AttentionStore = AttentionStore(), inference: Inference = Inference(),
                scheduler: Scheduler = Scheduler(), logLevel: Logger.Level = .info, metrics: Metrics = Metrics()) {
        self.server = server
        self.limits = limits
        self.models = models
        self.attentionStore = attentionStore
        self.inference = inference
        self.scheduler = scheduler
        self.logLevel = logLevel
        self.metrics = metrics
    }

    /// YAML section `metrics`: what `/metrics` exports beyond the request figures.
    public struct Metrics: Sendable, Equatable {
        /// `metrics.attention_drift`: per model and dynamic layer, a histogram of normalised attention
        /// entropy and each expert's summed routing weight, from every request (`AttentionDriftMetrics`).
        public var attentionDrift: Bool

        public init(attentionDrift: Bool = true) {
            self.attentionDrift = attentionDrift
        }
    }

    /// YAML section `server`.
    public struct Server: Sendable, Equatable {
        /// `server.host`: address to bind; the default keeps the service off the network.
        public var host: String
        /// `server.port`: TCP port, 0...65535 (0 asks the kernel for a free port).
        public var port: Int
        /// `server.max_connections`: simultaneous TCP connections; at the limit further connections
        /// wait in the kernel's listen backlog until one closes (they are not refused).
        public var maxConnections: Int
        /// `server.max_connections_per_ip`: simultaneous connections from one address (0 = no
        /// limit); one more is accepted and closed at once.
        public var maxConnectionsPerIP: Int
        /// `server.header_timeout_s`: seconds to send a complete request header, from connecting or
        /// from the end of the previous request (0 = none). Past it the connection is closed.
        public var headerTimeoutSeconds: Int
        /// `server.body_timeout_s`: seconds to send the whole body once the header is in (0 = none).
        public var bodyTimeoutSeconds: Int
        /// `server.tls_cert_file` / `server.tls_key_file`: PEM files; with both set the server
        /// speaks HTTPS only. Empty: plain HTTP.
        public var tlsCertFile: String
        public var tlsKeyFile: String
        /// `server.connection_timeout_s`: idle seconds before a connection is closed (0 = never).
        public var connectionTimeoutSeconds: Int
        /// `server.shutdown_timeout_s`: after SIGTERM/SIGINT, longest wait for accepted requests
        /// to finish before the rest are answered 503 and the process exits.
        public var shutdownTimeoutSeconds: Int

        public init(host: String = "127.0.0.1", port: Int = 8080, maxConnections: Int = 1024,
                    connectionTimeoutSeconds: Int = 30, shutdownTimeoutSeconds: Int = 30,
                    maxConnectionsPerIP: Int = 0, headerTimeoutSeconds: Int = 30, bodyTimeoutSeconds: Int = 120,
                    tlsCertFile: String = "", tlsKeyFile: String = "") {
            self.maxConnectionsPerIP = maxConnectionsPerIP
            self.headerTimeoutSeconds = headerTimeoutSeconds
            self.bodyTimeoutSeconds = bodyTimeoutSeconds
            self.tlsCertFile = tlsCertFile
            self.tlsKeyFile = tlsKeyFile
            self.host = host
            self.port = port
            self.maxConnections = maxConnections
            self.connectionTimeoutSeconds = connectionTimeoutSeconds
            self.shutdownTimeoutSeconds = shutdownTimeoutSeconds
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
        /// The accepted `max_json_depth`: a tensor body needs an object around an array (2), and the
        /// JSON reader recurses once per level, so the top bounds its stack use whatever the file says.
        public static let maxJSONDepthRange = 2...512
        /// `limits.max_inflight_body_bytes`: request-body bytes all connections together may hold
        /// until their requests complete; a body that does not fit gets 503 with Retry-After.
        public var maxInflightBodyBytes: Int
        /// `limits.max_inflight_response_bytes`: bytes of large response bodies being written at
        /// once; a response that does not fit is replaced by 503 with Retry-After.
        public var maxInflightResponseBytes: Int

        public init(maxBodyBytes: Int = 64 << 20, maxTensorElements: Int = 16_777_216,
                    maxJSONDepth: Int = 64, maxInflightBodyBytes: Int = 512 << 20,
                    maxInflightResponseBytes: Int = 512 << 20) {
            self.maxBodyBytes = maxBodyBytes
            self.maxTensorElements = maxTensorElements
            self.maxJSONDepth = maxJSONDepth
            self.maxInflightBodyBytes = maxInflightBodyBytes
            self.maxInflightResponseBytes = maxInflightResponseBytes
        }
    }

    /// YAML section `models`.
    public struct Models: Sendable, Equatable {
        /// `models.directory`: folder holding one sub-folder per model.
        public var directory: String
        /// `models.names`: the models to load; `nil` means every model folder in `directory`.
        public var names: [String]?
        /// `models.poll_interval_s`: seconds between looks at `directory` for new, changed and
        /// removed model folders (Triton's poll mode); 0 (default) never looks.
        public var pollIntervalSeconds: Int

        public init(directory: String = "models", names: [String]? = nil, pollIntervalSeconds: Int = 0) {
            self.directory = directory
            self.names = names
            self.pollIntervalSeconds = pollIntervalSeconds
        }
    }

    /// YAML section `attention_store`: bounded store of per-request attention traces.
    public struct AttentionStore: Sendable, Equatable {
        /// `attention_store.max_entries`: oldest entries are evicted beyond this count (0 disables the store).
        public var maxEntries: Int
        /// `attention_store.max_bytes`: oldest entries are evicted beyond this many bytes.
        public var maxBytes: Int
        /// `attention_store.max_record_bytes`: largest one request's trace may be when stored; a
        /// larger trace is stored for its first samples only and says so (`samples_kept`).
        public var maxRecordBytes: Int

        public init(maxEntries: Int = 1000, maxBytes: Int = 64 << 20, maxRecordBytes: Int = 4 << 20) {
            self.maxEntries = maxEntries
            self.maxBytes = maxBytes
            self.maxRecordBytes = maxRecordBytes
        }
    }

    /// YAML section `inference`.
    public struct Inference: Sendable, Equatable {
        /// `inference.threads`: the cores inference may use; 0 means every available core.
        public var threads: Int
        /// `inference.intra_op_threads`: threads one execution uses. 0 (auto) = 1 for the reference
        /// engine; for the fast one, 1 for a model under `FastEngine.singleThreadMaxMultiplyAdds`
        /// per sample and all of `threads` otherwise. Executions of a model at once =
        /// threads / its intra-op threads (at least 1); executions of all models together never
        /// use more than `threads` cores.
        public var intraOpThreads: Int
        /// `inference.backend`: `reference` (plain Swift ops, one thread per execution) or `fast`
        /// (oneDNN convolutions over `intra_op_threads` OpenMP threads).
        public var backend: Backend
        /// `inference.fp16_experts`: models whose dynamic-convolution experts (and attention FC1
        /// weights) the fast backend stores in fp16, halving the memory the aggregation reads per
        /// request; aggregation and convolution stay fp32. Empty: every model keeps fp32.
        public var fp16Experts: [String]

        public init(threads: Int = 0, intraOpThreads: Int = 0, backend: Backend = .fast, fp16Experts: [String] = []) {
            self.threads = threads
            self.intraOpThreads = intraOpThreads
            self.backend = backend
            self.fp16Experts = fp16Experts
        }

        /// How the fast backend stores the experts of model `name`.
        public func expertPrecision(of name: String) -> ExpertPrecision {
            fp16Experts.contains(name) ? .fp16 : .fp32
        }
    }

    /// YAML section `scheduler`: per-model queueing, dynamic batching and deadlines.
    public struct Scheduler: Sendable, Equatable {
        /// `scheduler.max_batch_size`: most samples merged into one execution; 1 disables batching.
        public var maxBatchSize: Int
        /// `scheduler.max_queue_delay_us`: longest the oldest request waits for a batch to fill.
        public var maxQueueDelayMicroseconds: Int
        /// `scheduler.max_queue_size`: requests waiting per model; more are refused at once.
        public var maxQueueSize: Int
        /// `scheduler.timeout_ms`: longest a request may take; requests may ask for less.
        public var timeoutMilliseconds: Int
        /// `scheduler.overload_status`: 503 or 429, the status of a request refused by a full queue.
        public var overloadStatus: Int

        public init(maxBatchSize: Int = 8, maxQueueDelayMicroseconds: Int = 0, maxQueueSize: Int = 256,
                    timeoutMilliseconds: Int = 30_000, overloadStatus: Int = 503) {
            self.maxBatchSize = maxBatchSize
            self.maxQueueDelayMicroseconds = maxQueueDelayMicroseconds
            self.maxQueueSize = maxQueueSize
            self.timeoutMilliseconds = timeoutMilliseconds
            self.overloadStatus = overloadStatus
        }
    }
}
