#if canImport(Glibc)
import Glibc
#endif

/// What every libFuzzer target (Tests/Fuzz) shares: the input as bytes, splitting it into the
/// parts a target needs, and reporting a broken property.
///
/// A broken property ends the process with `abort()`, which libFuzzer records as a crash and
/// saves the input for (`crash-<sha1>`), exactly as it does for a trap or a sanitizer report.
public enum Fuzz {
    /// libFuzzer's buffer as an array (the parsers take `[UInt8]`).
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// Reports a broken property and stops, so libFuzzer keeps the input.
    public static func fail(_ message: String) -> Never {
        let line = "fuzz property broken: \(message)\n"
        _ = line.utf8CString.withUnsafeBufferPointer { buffer in
            write(2, buffer.baseAddress, buffer.count - 1)
        }
        abort()
    }

    /// `fail` unless `condition` holds.
    public static func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fail(message()) }
    }

    /// Splits `bytes` at the first newline: the text before it (a header value, say) and the
    /// bytes after it. Without a newline the whole input is the text and the rest is empty.
    public static func splitLine(_ bytes: [UInt8]) -> (line: String, rest: [UInt8]) {
        guard let newline = bytes.firstIndex(of: 0x0A) else {
            return (String(decoding: bytes, as: UTF8.self), [])
        }
        return (String(decoding: bytes[..<newline], as: UTF8.self), Array(bytes[(newline + 1)...]))
    }

    /// Whether two float arrays hold the same bits (NaN payloads included).
    public static func sameBits(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern }
    }
}
