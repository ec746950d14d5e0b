import Foundation
import Testing
@testable import DyServe

/// The keys file format, the `auth.` configuration keys and start-up validation: errors name the
/// line and never quote the key.
@Suite struct AuthKeysTests {
    @Test func fileFormat() throws {
        let keys = try APIKeyParser.parseFile(TestKeys.file)
        #expect(keys.map(\.scopes) == [[.inference], [.introspection], [.admin], Set(AuthScope.allCases)])
        #expect(try APIKeyParser.parseFile("\n  # only comments\n\n").isEmpty)
        #expect(try APIKeyParser.parseFile("abcdefghijklmnop== inference, admin\r\n").first?.scopes == [.inference, .admin])
        #expect(try APIKeyParser.parseList("\(TestKeys.inference) inference;\(TestKeys.admin) admin;").count == 2)
    }

    @Test(arguments: [
        ("ok-key-0123456789ab inference\nshort inference", "2: the key has 5 characters; at least 16 are required"),
        ("ok-key-0123456789ab inference\n\n   bad-scope-key-0123 inference,root", "3: unknown scope 'root'; scopes are inference, introspection, admin"),
        ("ok-key-0123456789ab", "1: the key has no scopes; write '<key> <scope>[,<scope>...]' with scopes from inference, introspection, admin"),
        ("key:with:colons-0123 inference", "1: the key is not a bearer token: use letters, digits and - . _ ~ + /, optionally ending in ="),
        ("ok-key-0123456789ab inference\nok-key-0123456789ab admin", "2: the same key appears on an earlier entry"),
        ("=padding-first-0123 admin", "1: the key is not a bearer token: use letters, digits and - . _ ~ + /, optionally ending in ="),
    ])
    func fileProblemsNameTheLine(text: String, problem: String) {
        #expect(throws: APIKeyParser.Problem.self) { try APIKeyParser.parseFile(text) }
        do {
            _ = try APIKeyParser.parseFile(text)
        } catch {
            #expect(error.description == problem)
            #expect(!error.description.contains("0123456789ab") && !error.description.contains("key:with"))
        }
    }

    @Test func configKeysAndDefaults() throws {
        let defaults = try ServiceConfig.resolve(yaml: nil)
        #expect(defaults.auth == ServiceConfig.Auth())
        #expect(try !AuthGate(defaults.auth).isEnabled)
        let config = try ServiceConfig.resolve(yaml: """
            auth:
              keys_file: /run/secrets/keys
              metrics: open
              metadata: introspection
              explorer: OPEN
            """, environment: ["DYSERVE_AUTH_KEYS": "\(TestKeys.admin) admin"])
        #expect(config.auth.keysFile == "/run/secrets/keys")
        #expect(config.auth.keys == "\(TestKeys.admin) admin")
        #expect(config.auth.policy == AuthPolicy(metrics: .open, metadata: .scope(.introspection), explorer: .open))
        #expect(throws: ConfigError(location: "f.yaml: auth.metrics", message: "'everyone' is not open or a scope (inference, introspection, admin)")) {
            try ServiceConfig.resolve(yaml: "auth:\n  metrics: everyone\n", fileName: "f.yaml")
        }
    }

    @Test func keysFromFileAndEnvironmentTogether() throws {
        let path = try temporaryKeysFile(TestKeys.file)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let gate = try AuthGate(ServiceConfig.Auth(keysFile: path, keys: "extra-key-0123456789 inference"))
        #expect(gate.keyCount == 5)
        #expect(throws: ConfigError(location: "auth.keys", message: "API key with scopes admin is also in auth.keys_file; give each key once")) {
            try AuthGate(ServiceConfig.Auth(keysFile: path, keys: "\(TestKeys.admin) admin"))
        }
    }

    @Test func startUpProblemsNameFileAndLine() throws {
        let bad = try temporaryKeysFile("# keys\n\(TestKeys.admin) admin\n\(TestKeys.inference) inference,superuser\n")
        defer { try? FileManager.default.removeItem(atPath: bad) }
        #expect(throws: ConfigError(location: "auth.keys_file \(bad): line 3",
                                    message: "unknown scope 'superuser'; scopes are inference, introspection, admin")) {
            try AuthGate(ServiceConfig.Auth(keysFile: bad))
        }
        #expect(throws: ConfigError(location: "auth.keys_file /nonexistent/keys", message: "cannot read the file (No such file or directory)")) {
            try AuthGate(ServiceConfig.Auth(keysFile: "/nonexistent/keys"))
        }
        let empty = try temporaryKeysFile("# nothing yet\n")
        defer { try? FileManager.default.removeItem(atPath: empty) }
        #expect(throws: ConfigError(location: "auth.keys_file \(empty)", message: "the file holds no keys; authentication would refuse every request")) {
            try AuthGate(ServiceConfig.Auth(keysFile: empty))
        }
        #expect(throws: ConfigError(location: "auth.keys: entry 2", message: "the key has 3 characters; at least 16 are required")) {
            try AuthGate(ServiceConfig.Auth(keys: "\(TestKeys.admin) admin; abc admin"))
        }
        #expect(throws: ConfigError(location: "auth.keys_file /tmp", message: "not a regular file")) {
            try AuthGate(ServiceConfig.Auth(keysFile: "/tmp"))
        }
    }

    @Test(arguments: [0o644, 0o604, 0o660, 0o666, 0o602])
    func aFileOthersCanReadOrGroupCanWriteIsRefused(mode: Int) throws {
        let path = try temporaryKeysFile(TestKeys.file, mode: mode)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: ConfigError(location: "auth.keys_file \(path)", message: "mode \(String(mode, radix: 8)) lets other users read or change the keys; "
            + "chmod 600 (or 640 / 440 for a group such as a Kubernetes fsGroup)")) {
            try AuthGate(ServiceConfig.Auth(keysFile: path))
        }
    }

    @Test(arguments: [0o600, 0o400, 0o640, 0o440])
    func ownerOnlyAndGroupReadableFilesLoad(mode: Int) throws {
        let path = try temporaryKeysFile(TestKeys.file, mode: mode)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try AuthGate(ServiceConfig.Auth(keysFile: path)).keyCount == 4)
    }
}

extension AuthKeysTests {
    @Test func printingTheConfigurationShowsNoKey() throws {
        let config = try ServiceConfig.resolve(yaml: nil, environment: ["DYSERVE_AUTH_KEYS": "\(TestKeys.admin) admin"])
        for text in ["\(config)", String(reflecting: config), "\(config.auth)"] {
            #expect(!text.contains(TestKeys.admin) && text.contains("keys: hidden"), "\(text)")
        }
    }
}
