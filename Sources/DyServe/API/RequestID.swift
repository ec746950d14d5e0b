/// Request ids: 16 random hex digits. Random rather than sequential so ids from restarts or
/// replicas do not collide in logs, and cannot be guessed to read others' traces.
enum RequestID {
    static func make() -> String {
        var rng = SystemRandomNumberGenerator()
        let value = rng.next() as UInt64
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
