import DyNN

/// Every configuration key, its type and range, and where it lands in `ServiceConfig`. The YAML
/// reader, the environment reader and the flag overrides all go through this one table, so a key
/// is spelled and checked the same way everywhere.
struct ConfigKey: Sendable {
    /// Dotted YAML path, e.g. `server.port` or `log_level`.
    let path: String
    let apply: @Sendable (inout ServiceConfig, ConfigValue) throws(ConfigValueProblem) -> Void

    /// `DYSERVE_` + the path upper-cased with dots as underscores, e.g. `DYSERVE_SERVER_PORT`.
    var environmentName: String {
        "DYSERVE_" + path.uppercased().replacingAll(".", with: "_")
    }

    /// The YAML section (`server`), or `nil` for a top-level key such as `log_level`.
    var section: String? {
        guard let dot = path.firstIndex(of: ".") else { return nil }
        return String(path[..<dot])
    }

    /// The key inside its section (`port`), or the whole path for a top-level key.
    var name: String {
        guard let dot = path.firstIndex(of: ".") else { return path }
        return String(path[path.index(after: dot)...])
    }
}

enum ConfigKeys {
    /// Largest sensible count for values MHD takes as `unsigned int`.
    private static let uint32Max = Int(UInt32.max)

    static let all: [ConfigKey] = [
        ConfigKey(path: "server.host") { config, value throws(ConfigValueProblem) in
            config.server.host = try ConfigValueParser.string(value).trimmingSpaces
        },
        ConfigKey(path: "server.port") { config, value throws(ConfigValueProblem) in
            config.server.port = try ConfigValueParser.integer(value, in: 0...65535)
        },
        ConfigKey(path: "server.max_connections") { config, value throws(ConfigValueProblem) in
            config.server.maxConnections = try ConfigValueParser.integer(value, in: 1...65536)
        },
        ConfigKey(path: "server.connection_timeout_s") { config, value throws(ConfigValueProblem) in
            config.server.connectionTimeoutSeconds = try ConfigValueParser.integer(value, in: 0...uint32Max)
        },
        ConfigKey(path: "server.max_connections_per_ip") { config, value throws(ConfigValueProblem) in
            config.server.maxConnectionsPerIP = try ConfigValueParser.integer(value, in: 0...65536)
        },
        ConfigKey(path: "server.header_timeout_s") { config, value throws(ConfigValueProblem) in
            config.server.headerTimeoutSeconds = try ConfigValueParser.integer(value, in: 0...86_400)
        },
        ConfigKey(path: "server.body_timeout_s") { config, value throws(ConfigValueProblem) in
            config.server.bodyTimeoutSeconds = try ConfigValueParser.integer(value, in: 0...86_400)
        },
        ConfigKey(path: "server.tls_cert_file") { config, value throws(ConfigValueProblem) in
            config.server.tlsCertFile = try ConfigValueParser.optionalString(value)
        },
        ConfigKey(path: "server.tls_key_file") { config, value throws(ConfigValueProblem) in
            config.server.tlsKeyFile = try ConfigValueParser.optionalString(value)
        },
        ConfigKey(path: "server.shutdown_timeout_s") { config, value throws(ConfigValueProblem) in
            config.server.shutdownTimeoutSeconds = try ConfigValueParser.integer(value, in: 1...86_400)
        },
        ConfigKey(path: "limits.max_body_bytes") { config, value throws(ConfigValueProblem) in
            config.limits.maxBodyBytes = try ConfigValueParser.byteCount(value, in: 1...Int.max)
        },
        ConfigKey(path: "limits.max_tensor_elements") { config, value throws(ConfigValueProblem) in
            config.limits.maxTensorElements = try ConfigValueParser.integer(value, in: 1...Int.max)
        },
        ConfigKey(path: "limits.max_json_depth") { config, value throws(ConfigValueProblem) in
            config.limits.maxJSONDepth = try ConfigValueParser.integer(value, in: ServiceConfig.Limits.maxJSONDepthRange)
        },
        ConfigKey(path: "limits.max_inflight_body_bytes") { config, value throws(ConfigValueProblem) in
            config.limits.maxInflightBodyBytes = try ConfigValueParser.byteCount(value, in: 1...Int.max)
        },
        ConfigKey(path: "limits.max_inflight_response_bytes") { config, value throws(ConfigValueProblem) in
            config.limits.maxInflightResponseBytes = try ConfigValueParser.byteCount(value, in: 1...Int.max)
        },
        ConfigKey(path: "models.directory") { config, value throws(ConfigValueProblem) in
            config.models.directory = try ConfigValueParser.string(value).trimmingSpaces
        },
        ConfigKey(path: "models.names") { config, value throws(ConfigValueProblem) in
            config.models.names = try ConfigValueParser.modelNames(value)
        },
        ConfigKey(path: "models.poll_interval_s") { config, value throws(ConfigValueProblem) in
            config.models.pollIntervalSeconds = try ConfigValueParser.integer(value, in: 0...86_400)
        },
        ConfigKey(path: "attention_store.max_entries") { config, value throws(ConfigValueProblem) in
            config.attentionStore.maxEntries = try ConfigValueParser.integer(value, in: 0...Int.max)
        },
        ConfigKey(path: "attention_store.max_bytes") { config, value throws(ConfigValueProblem) in
            config.attentionStore.maxBytes = try ConfigValueParser.byteCount(value, in: 0...Int.max)
        },
        ConfigKey(path: "attention_store.max_record_bytes") { config, value throws(ConfigValueProblem) in
            config.attentionStore.maxRecordBytes = try ConfigValueParser.byteCount(value, in: 1...Int.max)
        },
        ConfigKey(path: "inference.threads") { config, value throws(ConfigValueProblem) in
            config.inference.threads = try ConfigValueParser.integer(value, in: 0...4096)
        },
        ConfigKey(path: "inference.intra_op_threads") { config, value throws(ConfigValueProblem) in
            config.inference.intraOpThreads = try ConfigValueParser.integer(value, in: 0...4096)
        },
        ConfigKey(path: "inference.backend") { config, value throws(ConfigValueProblem) in
            let text = try ConfigValueParser.string(value).trimmingSpaces.lowercased()
            guard let backend = Backend(rawValue: text) else {
                throw ConfigValueProblem(message: "'\(text)' is not a backend (reference, fast)")
            }
            config.inference.backend = backend
        },
        ConfigKey(path: "inference.fp16_experts") { config, value throws(ConfigValueProblem) in
            config.inference.fp16Experts = try ConfigValueParser.modelNameList(value) ?? []
        },
        ConfigKey(path: "scheduler.max_batch_size") { config, value throws(ConfigValueProblem) in
            config.scheduler.maxBatchSize = try ConfigValueParser.integer(value, in: 1...4096)
        },
        ConfigKey(path: "scheduler.max_queue_delay_us") { config, value throws(ConfigValueProblem) in
            config.scheduler.maxQueueDelayMicroseconds = try ConfigValueParser.integer(value, in: 0...10_000_000)
        },
        ConfigKey(path: "scheduler.max_queue_size") { config, value throws(ConfigValueProblem) in
            config.scheduler.maxQueueSize = try ConfigValueParser.integer(value, in: 1...1_000_000)
        },
        ConfigKey(path: "scheduler.timeout_ms") { config, value throws(ConfigValueProblem) in
            config.scheduler.timeoutMilliseconds = try ConfigValueParser.integer(value, in: 1...86_400_000)
        },
        ConfigKey(path: "scheduler.overload_status") { config, value throws(ConfigValueProblem) in
            let status = try ConfigValueParser.integer(value, in: 429...503)
            guard status == 429 || status == 503 else {
                throw ConfigValueProblem(message: "must be 503 or 429, got \(status)")
            }
            config.scheduler.overloadStatus = status
        },
        ConfigKey(path: "metrics.attention_drift") { config, value throws(ConfigValueProblem) in
            config.metrics.attentionDrift = try ConfigValueParser.boolean(value)
        },
        ConfigKey(path: "log_level") { config, value throws(ConfigValueProblem) in
            config.logLevel = try ConfigValueParser.logLevel(value)
        },
    ] + auth

    /// Short environment names for the settings people change most; each stands for a full key.
    static let environmentAliases: [(alias: String, path: String)] = [
        ("DYSERVE_HOST", "server.host"),
        ("DYSERVE_PORT", "server.port"),
        ("DYSERVE_MODELS_DIR", "models.directory"),
    ]

    static func key(forPath path: String) -> ConfigKey? {
        all.first { $0.path == path }
    }

    /// The section names that appear in YAML as mappings.
    static var sections: [String] {
        var names: [String] = []
        for key in all { if let section = key.section, !names.contains(section) { names.append(section) } }
        return names
    }
}
