import Foundation
import Yams

extension ServiceConfig {
    /// The file read when none is named and it exists (relative to the working directory).
    public static let defaultFilePath = "config/dyserve.yaml"
    /// Environment variable naming the config file; the one `DYSERVE_` name that is not a key.
    public static let fileEnvironmentName = "DYSERVE_CONFIG"
    /// Config files larger than this are refused rather than parsed.
    static let maxFileBytes = 1 << 20

    /// Builds the configuration: defaults, then `yaml` (text of the file named `fileName`),
    /// then `environment`, then `overrides`. Every problem is a `ConfigError` naming the source and key.
    ///
    /// Environment variables that start with `DYSERVE_` must be known keys, aliases, or
    /// `DYSERVE_CONFIG`; a misspelt variable is an error rather than silently ignored.
    public static func resolve(yaml: String?, fileName: String = defaultFilePath,
                               environment: [String: String] = [:],
                               overrides: [ConfigOverride] = []) throws(ConfigError) -> ServiceConfig {
        var config = ServiceConfig()
        if let yaml { try applyYAML(yaml, fileName: fileName, to: &config) }
        try applyEnvironment(environment, to: &config)
        for override in overrides {
            guard let key = ConfigKeys.key(forPath: override.key) else {
                throw ConfigError(location: override.source, message: "unknown configuration key '\(override.key)'")
            }
            try apply(key, .scalar(override.value), location: override.source, to: &config)
        }
        return config
    }

    /// Reads the file at `filePath` (if any) and resolves as `resolve(yaml:...)` does.
    /// With `filePath == nil`, `DYSERVE_CONFIG` names the file, else `config/dyserve.yaml` is
    /// used if it exists, else the defaults. A file that is named explicitly must exist.
    public static func load(filePath: String? = nil,
                            environment: [String: String] = ProcessInfo.processInfo.environment,
                            overrides: [ConfigOverride] = []) throws(ConfigError) -> ServiceConfig {
        let explicitPath = filePath ?? environment[fileEnvironmentName].flatMap { $0.isEmpty ? nil : $0 }
        let path: String?
        if let explicitPath {
            path = explicitPath
        } else if FileManager.default.fileExists(atPath: defaultFilePath) {
            path = defaultFilePath
        } else {
            path = nil
        }
        guard let path else { return try resolve(yaml: nil, environment: environment, overrides: overrides) }
        let text = try readFile(path)
        return try resolve(yaml: text, fileName: path, environment: environment, overrides: overrides)
    }

    private static func readFile(_ path: String) throws(ConfigError) -> String {
        let data: Data
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            if let size = attributes[.size] as? NSNumber, size.intValue > maxFileBytes {
                throw ConfigError(location: path, message: "file is larger than \(maxFileBytes) bytes")
            }
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch let error as ConfigError {
            throw error
        } catch {
            throw ConfigError(location: path, message: "cannot read the file (\(error.localizedDescription))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(location: path, message: "the file is not UTF-8 text")
        }
        return text
    }

    // MARK: YAML

    private static func applyYAML(_ yaml: String, fileName: String, to config: inout ServiceConfig) throws(ConfigError) {
        for entry in try yamlEntries(yaml, fileName: fileName) {
            try apply(entry.key, entry.value, location: "\(fileName): \(entry.key.path)", to: &config)
        }
    }

    /// Every key the YAML document sets, in document order, with its raw value; unknown and
    /// duplicate keys are errors. Nothing is applied yet.
    static func yamlEntries(_ yaml: String, fileName: String) throws(ConfigError) -> [(key: ConfigKey, value: ConfigValue)] {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw ConfigError(location: fileName, message: "not valid YAML: \(yamlProblem(error))")
        } catch {
            throw ConfigError(location: fileName, message: "not valid YAML: \(error)")
        }
        guard let root, !isNull(root) else { return [] }  // an empty file keeps the defaults
        guard case .mapping(let top) = root else {
            throw ConfigError(location: fileName, message: "expected a mapping of sections at the top level")
        }
        var entries: [(key: ConfigKey, value: ConfigValue)] = []
        var seenTop = Set<String>()
        for (keyNode, valueNode) in top {
            let name = try keyName(keyNode, fileName: fileName, parent: nil)
            guard seenTop.insert(name).inserted else {
                throw ConfigError(location: "\(fileName): \(name)", message: "duplicate key")
            }
            if let key = ConfigKeys.key(forPath: name) {
                entries.append((key, try value(of: valueNode, path: name, fileName: fileName)))
                continue
            }
            guard ConfigKeys.sections.contains(name) else {
                throw ConfigError(location: "\(fileName): \(name)", message: "unknown key")
            }
            if isNull(valueNode) { continue }  // `server:` with nothing under it
            guard case .mapping(let section) = valueNode else {
                throw ConfigError(location: "\(fileName): \(name)", message: "expected a mapping of keys")
            }
            var seen = Set<String>()
            for (innerKeyNode, innerValueNode) in section {
                let innerName = try keyName(innerKeyNode, fileName: fileName, parent: name)
                let path = "\(name).\(innerName)"
                guard seen.insert(innerName).inserted else {
                    throw ConfigError(location: "\(fileName): \(path)", message: "duplicate key")
                }
                guard let key = ConfigKeys.key(forPath: path) else {
                    throw ConfigError(location: "\(fileName): \(path)", message: "unknown key")
                }
                entries.append((key, try value(of: innerValueNode, path: path, fileName: fileName)))
            }
        }
        return entries
    }

    private static func keyName(_ node: Node, fileName: String, parent: String?) throws(ConfigError) -> String {
        guard case .scalar(let scalar) = node else {
            throw ConfigError(location: "\(fileName): \(parent ?? "top level")", message: "a key is not a plain name")
        }
        return scalar.string
    }

    private static func value(of node: Node, path: String, fileName: String) throws(ConfigError) -> ConfigValue {
        if isNull(node) { return .null }
        switch node {
        case .scalar(let scalar):
            return .scalar(scalar.string)
        case .sequence(let sequence):
            var items: [String] = []
            for item in sequence {
                guard case .scalar(let scalar) = item, !isNull(item) else {
                    throw ConfigError(location: "\(fileName): \(path)", message: "expected a list of plain values")
                }
                items.append(scalar.string)
            }
            return .list(items)
        default:
            throw ConfigError(location: "\(fileName): \(path)", message: "expected a value, found a mapping")
        }
    }

    /// YAML null: an empty plain scalar, `~` or `null`. A quoted `"null"` is a string.
    private static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    private static func yamlProblem(_ error: YamlError) -> String {
        // YamlError's own description quotes the whole document; keep only the first line.
        let text = "\(error)"
        return text.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? text
    }

    // MARK: Environment

    private static func applyEnvironment(_ environment: [String: String], to config: inout ServiceConfig) throws(ConfigError) {
        let byName = Dictionary(uniqueKeysWithValues: ConfigKeys.all.map { ($0.environmentName, $0) })
        let aliases = Dictionary(uniqueKeysWithValues: ConfigKeys.environmentAliases.map { ($0.alias, $0.path) })
        // Reject misspelt names first, in a stable order, so the error does not depend on hashing.
        for name in environment.keys.sorted() where name.hasPrefix("DYSERVE_") {
            if byName[name] == nil && aliases[name] == nil && name != fileEnvironmentName {
                throw ConfigError(location: name, message: "unknown configuration variable")
            }
        }
        // Aliases first, then full names; both set to different values is ambiguous.
        for (alias, path) in ConfigKeys.environmentAliases {
            guard let raw = environment[alias], let key = ConfigKeys.key(forPath: path) else { continue }
            if let full = environment[key.environmentName], full != raw {
                throw ConfigError(location: alias, message: "conflicts with \(key.environmentName)='\(full)'")
            }
            try apply(key, .scalar(raw), location: alias, to: &config)
        }
        for key in ConfigKeys.all {
            guard let raw = environment[key.environmentName] else { continue }
            try apply(key, .scalar(raw), location: key.environmentName, to: &config)
        }
    }

    // MARK: Shared

    private static func apply(_ key: ConfigKey, _ value: ConfigValue, location: String,
                              to config: inout ServiceConfig) throws(ConfigError) {
        do {
            try key.apply(&config, value)
        } catch {
            throw ConfigError(location: location, message: error.message)
        }
    }
}
