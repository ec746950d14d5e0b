/// A configuration problem found at start-up. `description` reads as `<where>: <what>`, where
/// `<where>` names the source and key, e.g. `config/dyserve.yaml: server.prot: unknown key`,
/// `DYSERVE_PORT: 'abc' is not an integer`, `--port: 70000 is out of range 0...65535`.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The source and key, e.g. `config/dyserve.yaml: server.port` or `DYSERVE_PORT`.
    public var location: String
    /// What is wrong, e.g. `unknown key`.
    public var message: String

    public init(location: String, message: String) {
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): \(message)" }
}
