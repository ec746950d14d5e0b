/// One setting from the command line (or any caller), applied on top of file and environment.
/// `source` names it in errors, e.g. `--port`.
public struct ConfigOverride: Sendable, Equatable {
    /// Dotted key, e.g. `server.port`, `models.names` (comma-separated), `log_level`.
    public var key: String
    public var value: String
    /// What the user typed, e.g. `--port`; errors say `--port: 'abc' is not an integer`.
    public var source: String

    public init(key: String, value: String, source: String? = nil) {
        self.key = key
        self.value = value
        self.source = source ?? key
    }
}
