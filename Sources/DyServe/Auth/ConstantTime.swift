/// Comparison whose duration does not depend on where two byte strings differ, so a client
/// timing the answers to its guesses learns nothing about a key's bytes.
enum ConstantTime {
    /// True when `secret` and `presented` are equal. Every byte of `presented` is visited whatever
    /// the contents, and a length mismatch is folded into the result instead of returning early:
    /// the time depends only on the length of `presented`, which the client already knows.
    static func equal(_ secret: [UInt8], _ presented: [UInt8]) -> Bool {
        var difference = UInt64(UInt(bitPattern: secret.count) ^ UInt(bitPattern: presented.count))
        guard !secret.isEmpty else { return presented.isEmpty }
        for index in presented.indices {
            difference |= UInt64(secret[index % secret.count] ^ presented[index])
        }
        return difference == 0
    }
}
