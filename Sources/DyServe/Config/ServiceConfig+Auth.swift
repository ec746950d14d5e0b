extension ServiceConfig {
    /// YAML section `auth`: API keys and what each endpoint needs. Off unless keys are given.
    /// Printing it (a dump of the configuration, a test failure) shows no key: `keys` is hidden.
    public struct Auth: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
        /// `auth.keys_file`: a file of keys, one per line (`APIKeyParser` has the format); empty: none.
        public var keysFile: String
        /// `auth.keys`: keys given inline, entries separated by `;` (meant for the environment,
        /// `DYSERVE_AUTH_KEYS`, e.g. from a Kubernetes Secret); empty: none.
        public var keys: String
        /// `auth.metrics`, `auth.metadata`, `auth.explorer`: `open` or a scope.
        public var policy: AuthPolicy

        public init(keysFile: String = "", keys: String = "", policy: AuthPolicy = AuthPolicy()) {
            self.keysFile = keysFile
            self.keys = keys
            self.policy = policy
        }

        public var description: String {
            "Auth(keysFile: \"\(keysFile)\", keys: \(keys.isEmpty ? "none" : "hidden"), policy: \(policy))"
        }

        public var debugDescription: String { description }
    }
}

extension ConfigKeys {
    /// The `auth.` keys, appended to `ConfigKeys.all`.
    static let auth: [ConfigKey] = [
        ConfigKey(path: "auth.keys_file") { config, value throws(ConfigValueProblem) in
            config.auth.keysFile = value == .null ? "" : try ConfigValueParser.string(value, allowEmpty: true).trimmingSpaces
        },
        ConfigKey(path: "auth.keys") { config, value throws(ConfigValueProblem) in
            // Never quoted in a message: the value holds secrets.
            guard case .scalar(let text) = value else {
                if value == .null { config.auth.keys = ""; return }
                throw ConfigValueProblem(message: "expected a single value: entries '<key> <scope>[,<scope>...]' separated by ';'")
            }
            config.auth.keys = text
        },
        ConfigKey(path: "auth.metrics") { config, value throws(ConfigValueProblem) in
            config.auth.policy.metrics = try requirement(value)
        },
        ConfigKey(path: "auth.metadata") { config, value throws(ConfigValueProblem) in
            config.auth.policy.metadata = try requirement(value)
        },
        ConfigKey(path: "auth.explorer") { config, value throws(ConfigValueProblem) in
            config.auth.policy.explorer = try requirement(value)
        },
    ]

    private static func requirement(_ value: ConfigValue) throws(ConfigValueProblem) -> AuthRequirement {
        let text = try ConfigValueParser.string(value).trimmingSpaces.lowercased()
        guard let requirement = AuthRequirement(configText: text) else {
            throw ConfigValueProblem(message: "'\(text)' is not open or a scope (\(AuthScope.namesList))")
        }
        return requirement
    }
}
