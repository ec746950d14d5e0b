import Foundation
import Testing
@testable import DyServe

@Suite struct ServiceConfigTests {
    private func expectError(_ expected: String, yaml: String? = nil, environment: [String: String] = [:],
                             overrides: [ConfigOverride] = [], sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let config = try ServiceConfig.resolve(yaml: yaml, fileName: "dyserve.yaml",
                                                   environment: environment, overrides: overrides)
            Issue.record("expected error '\(expected)', got \(config)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.description == expected, sourceLocation: sourceLocation)
        }
    }

    /// `config/dyserve.yaml` documents the defaults: it must set every key, each to the value
    /// `ServiceConfig()` has, so the file and the code cannot drift apart.
    @Test func shippedFileSetsEveryKeyToItsDefault() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("config/dyserve.yaml")
        let text = try String(contentsOf: url, encoding: .utf8)
        let setInFile = try ServiceConfig.yamlEntries(text, fileName: "config/dyserve.yaml").map(\.key.path)
        let missing = ConfigKeys.all.map(\.path).filter { !setInFile.contains($0) }
        #expect(missing.isEmpty, "config/dyserve.yaml does not set \(missing)")
        #expect(try ServiceConfig.resolve(yaml: text) == ServiceConfig())
    }

    @Test func derivedSettingsTakeTheConfigDefaults() throws {
        let config = ServiceConfig()
        #expect(SchedulerSettings() == SchedulerSettings(config))
        #expect(APILimits() == APILimits(config))
        #expect(try HTTPServerConfiguration() == HTTPServerConfiguration(config))
    }

    @Test func jsonDepthOutsideItsRangeStopsStartUp() throws {
        expectError("dyserve.yaml: limits.max_json_depth: 513 is out of range 2...512", yaml: "limits: {max_json_depth: 513}")
        expectError("DYSERVE_LIMITS_MAX_JSON_DEPTH: 1 is out of range 2...512",
                    environment: ["DYSERVE_LIMITS_MAX_JSON_DEPTH": "1"])
        #expect(try ServiceConfig.resolve(yaml: "limits: {max_json_depth: 512}").limits.maxJSONDepth == 512)
    }

    @Test func tlsFilesMayBeLeftEmptyOrNull() throws {
        let unset = try ServiceConfig.resolve(yaml: "server: {tls_cert_file: '', tls_key_file: null}")
        #expect(unset.server.tlsCertFile == "" && unset.server.tlsKeyFile == "")
        let set = try ServiceConfig.resolve(yaml: "server: {tls_cert_file: ' /a.crt ', tls_key_file: /a.key}")
        #expect(set.server.tlsCertFile == "/a.crt" && set.server.tlsKeyFile == "/a.key")
    }

    @Test func hardeningKeysFromYAMLAndIntoTheHTTPServer() throws {
        let yaml = """
        server: {max_connections_per_ip: 8, header_timeout_s: 5, body_timeout_s: 0}
        limits: {max_inflight_body_bytes: 1GiB, max_inflight_response_bytes: 2MiB}
        attention_store: {max_record_bytes: 1MiB}
        """
        let c = try ServiceConfig.resolve(yaml: yaml)
        #expect(c.server.maxConnectionsPerIP == 8 && c.server.headerTimeoutSeconds == 5 && c.server.bodyTimeoutSeconds == 0)
        #expect(c.limits.maxInflightBodyBytes == 1 << 30 && c.limits.maxInflightResponseBytes == 2 << 20)
        #expect(c.attentionStore.maxRecordBytes == 1 << 20)
        let http = try HTTPServerConfiguration(c)
        #expect(http.maxConnectionsPerIP == 8 && http.headerTimeoutSeconds == 5 && http.bodyTimeoutSeconds == 0)
        #expect(http.maxInflightBodyBytes == 1 << 30 && http.maxInflightResponseBytes == 2 << 20)
        #expect(TraceStoreLimits(c).maxRecordBytes == 1 << 20)
        #expect(throws: (any Error).self) { try ServiceConfig.resolve(yaml: "server: {header_timeout_s: -1}") }
        #expect(throws: (any Error).self) { try ServiceConfig.resolve(yaml: "limits: {max_inflight_body_bytes: 0}") }
    }

    @Test func emptyAndNullDocumentsKeepDefaults() throws {
        #expect(try ServiceConfig.resolve(yaml: "") == ServiceConfig())
        #expect(try ServiceConfig.resolve(yaml: "# only a comment\n") == ServiceConfig())
        #expect(try ServiceConfig.resolve(yaml: "server:\nlimits: ~\n") == ServiceConfig())
    }

    @Test func yamlSetsEveryKey() throws {
        let yaml = """
        server: {host: 0.0.0.0, port: 9000, max_connections: 10, connection_timeout_s: 5}
        limits: {max_body_bytes: 1KiB, max_tensor_elements: 1_000, max_json_depth: 8}
        models:
          directory: /srv/models
          names: [a, b]
        attention_store: {max_entries: 0, max_bytes: 2048}
        inference: {threads: 2}
        log_level: DEBUG
        """
        let c = try ServiceConfig.resolve(yaml: yaml)
        #expect(c.server == .init(host: "0.0.0.0", port: 9000, maxConnections: 10, connectionTimeoutSeconds: 5))
        #expect(c.limits == .init(maxBodyBytes: 1024, maxTensorElements: 1000, maxJSONDepth: 8))
        #expect(c.models == .init(directory: "/srv/models", names: ["a", "b"]))
        #expect(c.attentionStore == .init(maxEntries: 0, maxBytes: 2048))
        #expect(c.inference.threads == 2)
        #expect(c.logLevel == .debug)
    }

    @Test func environmentOverridesFileAndFlagsOverrideEnvironment() throws {
        let yaml = "server: {port: 9000, host: 10.0.0.1}\nlog_level: warning\nmodels: {directory: a}"
        let env = ["DYSERVE_PORT": "9100", "DYSERVE_LOG_LEVEL": "error", "DYSERVE_MODELS_DIR": "b",
                   "DYSERVE_SERVER_MAX_CONNECTIONS": "7", "DYSERVE_ATTENTION_STORE_MAX_ENTRIES": "3",
                   "DYSERVE_MODELS_NAMES": "x, y", "HOME": "/root"]
        let fromEnv = try ServiceConfig.resolve(yaml: yaml, environment: env)
        #expect(fromEnv.server.port == 9100)
        #expect(fromEnv.server.host == "10.0.0.1")
        #expect(fromEnv.server.maxConnections == 7)
        #expect(fromEnv.attentionStore.maxEntries == 3)
        #expect(fromEnv.logLevel == .error)
        #expect(fromEnv.models.directory == "b")
        #expect(fromEnv.models.names == ["x", "y"])
        #expect(try ServiceConfig.resolve(yaml: "models: {poll_interval_s: 15}", environment: [:]).models.pollIntervalSeconds == 15)
        #expect(try ServiceConfig.resolve(yaml: yaml, environment: ["DYSERVE_MODELS_POLL_INTERVAL_S": "2"]).models.pollIntervalSeconds == 2)

        let flags = [ConfigOverride(key: "server.port", value: "9200", source: "--port"),
                     ConfigOverride(key: "log_level", value: "trace")]
        let fromFlags = try ServiceConfig.resolve(yaml: yaml, environment: env, overrides: flags)
        #expect(fromFlags.server.port == 9200)
        #expect(fromFlags.logLevel == .trace)
        #expect(fromFlags.server.maxConnections == 7)
    }

    @Test func fullEnvironmentNameAgreesWithAliasOrIsAConflict() throws {
        let same = try ServiceConfig.resolve(yaml: nil, environment: ["DYSERVE_PORT": "1", "DYSERVE_SERVER_PORT": "1"])
        #expect(same.server.port == 1)
        expectError("DYSERVE_PORT: conflicts with DYSERVE_SERVER_PORT='2'",
                    environment: ["DYSERVE_PORT": "1", "DYSERVE_SERVER_PORT": "2"])
    }

    @Test func fp16ExpertsArePerModel() throws {
        let listed = try ServiceConfig.resolve(yaml: "inference: {fp16_experts: [dy-mobilenetv2]}")
        #expect(listed.inference.fp16Experts == ["dy-mobilenetv2"])
        #expect(listed.inference.expertPrecision(of: "dy-mobilenetv2") == .fp16)
        #expect(listed.inference.expertPrecision(of: "dy-digits") == .fp32)
        #expect(try ServiceConfig.resolve(yaml: "inference: {fp16_experts: []}").inference.fp16Experts == [])
        let fromEnvironment = try ServiceConfig.resolve(yaml: nil, environment: ["DYSERVE_INFERENCE_FP16_EXPERTS": "a, b"])
        #expect(fromEnvironment.inference.fp16Experts == ["a", "b"])
        #expect(ServiceConfig().inference.expertPrecision(of: "a") == .fp32)
    }

    @Test func unknownKeysAreNamed() {
        expectError("dyserve.yaml: server.prot: unknown key", yaml: "server:\n  prot: 1\n")
        expectError("dyserve.yaml: sever: unknown key", yaml: "sever: {port: 1}\n")
        expectError("dyserve.yaml: port: unknown key", yaml: "port: 1\n")
        expectError("DYSERVE_SERVER_PROT: unknown configuration variable", environment: ["DYSERVE_SERVER_PROT": "1"])
        expectError("--prot: unknown configuration key 'server.prot'",
                    overrides: [ConfigOverride(key: "server.prot", value: "1", source: "--prot")])
    }

    @Test func badValuesAreNamed() {
        expectError("DYSERVE_PORT: 'abc' is not an integer", environment: ["DYSERVE_PORT": "abc"])
        expectError("dyserve.yaml: server.port: 70000 is out of range 0...65535", yaml: "server: {port: 70000}")
        expectError("dyserve.yaml: server.port: -1 is out of range 0...65535", yaml: "server: {port: -1}")
        expectError("dyserve.yaml: server.port: '8080.5' is not an integer", yaml: "server: {port: 8080.5}")
        expectError("dyserve.yaml: server.port: expected a single value", yaml: "server: {port: [1]}")
        expectError("dyserve.yaml: server.host: must not be empty", yaml: "server: {host: ''}")
        expectError("dyserve.yaml: server.max_connections: 0 is out of range 1...65536",
                    yaml: "server: {max_connections: 0}")
        expectError("dyserve.yaml: limits.max_body_bytes: -5 must be at least 1", yaml: "limits: {max_body_bytes: -5}")
        expectError("dyserve.yaml: limits.max_body_bytes: '5 TB' is not a byte count (an integer, optionally with KiB, MiB or GiB)",
                    yaml: "limits: {max_body_bytes: 5 TB}")
        expectError("dyserve.yaml: limits.max_body_bytes: '99999999999999999GiB' is out of range 1...\(Int.max)",
                    yaml: "limits: {max_body_bytes: 99999999999999999GiB}")
        expectError("DYSERVE_LIMITS_MAX_TENSOR_ELEMENTS: -1 must be at least 1",
                    environment: ["DYSERVE_LIMITS_MAX_TENSOR_ELEMENTS": "-1"])
        expectError("DYSERVE_ATTENTION_STORE_MAX_BYTES: -1 must be at least 0",
                    environment: ["DYSERVE_ATTENTION_STORE_MAX_BYTES": "-1"])
        expectError("DYSERVE_INFERENCE_THREADS: '' is not an integer", environment: ["DYSERVE_INFERENCE_THREADS": ""])
        expectError("dyserve.yaml: log_level: 'loud' is not a log level (trace, debug, info, notice, warning, error, critical)",
                    yaml: "log_level: loud")
        expectError("dyserve.yaml: models.names: '../etc' is not a plain model folder name",
                    yaml: "models: {names: [../etc]}")
        expectError("dyserve.yaml: models.poll_interval_s: -1 is out of range 0...86400", yaml: "models: {poll_interval_s: -1}")
        expectError("dyserve.yaml: models.names: model 'a' is listed twice", yaml: "models: {names: [a, a]}")
        expectError("dyserve.yaml: models.names: the list is empty; leave the key out to load every model",
                    yaml: "models: {names: []}")
        expectError("dyserve.yaml: models.names: expected a list of plain values", yaml: "models: {names: [{a: 1}]}")
        expectError("dyserve.yaml: inference.fp16_experts: '/abs' is not a plain model folder name",
                    yaml: "inference: {fp16_experts: [/abs]}")
        expectError("DYSERVE_INFERENCE_FP16_EXPERTS: model 'm' is listed twice",
                    environment: ["DYSERVE_INFERENCE_FP16_EXPERTS": "m, m"])
        expectError("DYSERVE_INFERENCE_FP16_EXPERTS: a model name is empty",
                    environment: ["DYSERVE_INFERENCE_FP16_EXPERTS": "m,,n"])
        expectError("--port: 99999 is out of range 0...65535",
                    overrides: [ConfigOverride(key: "server.port", value: "99999", source: "--port")])
    }

    @Test func malformedDocumentsAreErrors() {
        expectError("dyserve.yaml: server: expected a mapping of keys", yaml: "server: 8080")
        expectError("dyserve.yaml: expected a mapping of sections at the top level", yaml: "- a\n- b\n")
        expectError("dyserve.yaml: expected a mapping of sections at the top level", yaml: "just text")
        expectError("dyserve.yaml: server.port: duplicate key", yaml: "server:\n  port: 1\n  port: 2\n")
        expectError("dyserve.yaml: server: duplicate key", yaml: "server: {}\nserver: {}\n")
        for broken in ["server: {port: 1", "server:\n  port: 1\n port: 2", "\"unterminated", "a: b: c", "[", "\t- x"] {
            do {
                _ = try ServiceConfig.resolve(yaml: broken, fileName: "dyserve.yaml")
                Issue.record("accepted broken YAML \(broken.debugDescription)")
            } catch {
                #expect(error.description.hasPrefix("dyserve.yaml"))
            }
        }
    }

    @Test func loadReadsNamedFileAndReportsMissingOne() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dyserve-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("c.yaml")
        try "server:\n  port: 1234\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(try ServiceConfig.load(filePath: file.path, environment: [:]).server.port == 1234)
        #expect(try ServiceConfig.load(environment: ["DYSERVE_CONFIG": file.path]).server.port == 1234)

        let missing = dir.appendingPathComponent("missing.yaml").path
        do {
            _ = try ServiceConfig.load(filePath: missing, environment: [:])
            Issue.record("missing file accepted")
        } catch {
            #expect(error.location == missing)
        }
        let binary = dir.appendingPathComponent("bin.yaml")
        try Data([0xff, 0xfe, 0x00, 0x80]).write(to: binary)
        #expect(throws: ConfigError.self) { try ServiceConfig.load(filePath: binary.path, environment: [:]) }
    }

    @Test func attentionDriftSwitchReadsTrueAndFalseOnly() throws {
        #expect(ServiceConfig().metrics.attentionDrift)
        #expect(try !ServiceConfig.resolve(yaml: "metrics: {attention_drift: false}").metrics.attentionDrift)
        #expect(try ServiceConfig.resolve(yaml: "metrics:\n  attention_drift: True\n").metrics.attentionDrift)
        #expect(try !ServiceConfig.resolve(yaml: nil, environment: ["DYSERVE_METRICS_ATTENTION_DRIFT": "false"]).metrics.attentionDrift)
        expectError("dyserve.yaml: metrics.attention_drift: 'yes' is not true or false",
                    yaml: "metrics: {attention_drift: yes}")
        expectError("DYSERVE_METRICS_ATTENTION_DRIFT: '' is not true or false",
                    environment: ["DYSERVE_METRICS_ATTENTION_DRIFT": ""])
        expectError("dyserve.yaml: metrics.attention_drift: expected a single value",
                    yaml: "metrics: {attention_drift: [true]}")
        expectError("dyserve.yaml: metrics.entropy: unknown key", yaml: "metrics: {entropy: true}")
    }
}
