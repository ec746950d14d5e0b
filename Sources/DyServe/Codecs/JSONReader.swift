/// Why a body is not the JSON we accept: a message and the byte offset where reading stopped.
struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    var message: String
    var offset: Int
    var description: String { "malformed JSON at byte \(offset): \(message)" }
}

/// A strict RFC 8259 reader over bytes, positioned at one value at a time.
///
/// Why not `JSONSerialization`: the nesting depth must be bounded *while* reading (deep nesting
/// must fail cleanly, not overflow the stack), and tensor data should go straight into floats
/// without an intermediate object per number. Recursion depth is the JSON nesting depth, which
/// `maxDepth` caps, so the stack use of any document is bounded.
struct JSONReader {
    private let bytes: [UInt8]
    private(set) var offset: Int
    let maxDepth: Int

    /// Longest number literal accepted; JSON allows any length, and a megabyte of digits is an
    /// attack, not a value.
    static let maxNumberLength = 512

    init(bytes: [UInt8], maxDepth: Int) {
        self.bytes = bytes
        self.offset = 0
        self.maxDepth = maxDepth
    }

    func error(_ message: String) -> JSONSyntaxError {
        JSONSyntaxError(message: message, offset: offset)
    }

    var isAtEnd: Bool { offset >= bytes.count }

    mutating func skipWhitespace() {
        while offset < bytes.count {
            switch bytes[offset] {
            case 0x20, 0x09, 0x0A, 0x0D: offset += 1
            default: return
            }
        }
    }

    /// The next non-whitespace byte, without consuming it.
    mutating func peek() -> UInt8? {
        skipWhitespace()
        return offset < bytes.count ? bytes[offset] : nil
    }

    mutating func expect(_ byte: UInt8) throws(JSONSyntaxError) {
        guard let b = peek() else { throw error("unexpected end, expected '\(Character(Unicode.Scalar(byte)))'") }
        guard b == byte else {
            throw error("expected '\(Character(Unicode.Scalar(byte)))', found \(Self.describe(b))")
        }
        offset += 1
    }

    /// Consumes `byte` if it comes next.
    mutating func consume(_ byte: UInt8) -> Bool {
        if peek() == byte {
            offset += 1
            return true
        }
        return false
    }

    /// After the whole document: only whitespace may remain.
    mutating func expectEnd() throws(JSONSyntaxError) {
        if let b = peek() { throw error("unexpected \(Self.describe(b)) after the end of the document") }
    }

    /// Reads any value. `depth` is the nesting depth of the container the value sits in (0 at the
    /// top level); opening an array or object deeper than `maxDepth` fails.
    mutating func readValue(depth: Int) throws(JSONSyntaxError) -> ParsedJSON {
        guard let b = peek() else { throw error("unexpected end, expected a value") }
        switch b {
        case UInt8(ascii: "{"):
            try checkDepth(depth + 1)
            offset += 1
            var members: [(key: String, value: ParsedJSON)] = []
            if consume(UInt8(ascii: "}")) { return .object(members) }
            repeat {
                let key = try readString()
                try expect(UInt8(ascii: ":"))
                members.append((key, try readValue(depth: depth + 1)))
            } while consume(UInt8(ascii: ","))
            try expect(UInt8(ascii: "}"))
            return .object(members)
        case UInt8(ascii: "["):
            try checkDepth(depth + 1)
            offset += 1
            var elements: [ParsedJSON] = []
            if consume(UInt8(ascii: "]")) { return .array(elements) }
            repeat {
                elements.append(try readValue(depth: depth + 1))
            } while consume(UInt8(ascii: ","))
            try expect(UInt8(ascii: "]"))
            return .array(elements)
        case UInt8(ascii: "\""):
            return .string(try readString())
        case UInt8(ascii: "t"):
            try readLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try readLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try readLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try readNumber())
        default:
            throw error("unexpected \(Self.describe(b)), expected a value")
        }
    }

    func checkDepth(_ depth: Int) throws(JSONSyntaxError) {
        if depth > maxDepth { throw error("nesting deeper than the limit of \(maxDepth)") }
    }

    private mutating func readLiteral(_ word: StaticString) throws(JSONSyntaxError) {
        let count = word.utf8CodeUnitCount
        let matches = word.withUTF8Buffer { w in
            offset + count <= bytes.count && (0..<count).allSatisfy { bytes[offset + $0] == w[$0] }
        }
        guard matches else { throw error("invalid literal, expected \(word)") }
        offset += count
    }

    /// Reads a number per the JSON grammar (no NaN, Infinity, hex, leading '+' or zeros).
    /// Values beyond Double's range come back as +-infinity; callers decide whether that is allowed.
    mutating func readNumber() throws(JSONSyntaxError) -> Double {
        skipWhitespace()
        let start = offset
        var negative = false
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "-") {
            negative = true
            offset += 1
        }
        guard offset < bytes.count, Self.isDigit(bytes[offset]) else { throw error("invalid number") }
        // Accumulate the significant digits as we validate, for the fast path below.
        var mantissa: UInt64 = 0
        var digits = 0
        var exponent = 0
        if bytes[offset] == UInt8(ascii: "0") {
            offset += 1
            if offset < bytes.count, Self.isDigit(bytes[offset]) { throw error("invalid number: leading zero") }
        } else {
            while offset < bytes.count, Self.isDigit(bytes[offset]) {
                if digits < 19 { mantissa = mantissa &* 10 &+ UInt64(bytes[offset] &- 48) } else { exponent += 1 }
                digits += 1
                offset += 1
            }
        }
        if offset < bytes.count, bytes[offset] == UInt8(ascii: ".") {
            offset += 1
            guard offset < bytes.count, Self.isDigit(bytes[offset]) else { throw error("invalid number: digit expected after '.'") }
            while offset < bytes.count, Self.isDigit(bytes[offset]) {
                if mantissa == 0 && bytes[offset] == UInt8(ascii: "0") {
                    exponent -= 1  // leading zeros of a fraction are not significant
                } else if digits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(bytes[offset] &- 48)
                    digits += 1
                    exponent -= 1
                } else {
                    digits += 1
                }
                offset += 1
            }
        }
        var explicitExponent = 0
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "e") || bytes[offset] == UInt8(ascii: "E") {
            offset += 1
            var exponentNegative = false
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-") {
                exponentNegative = bytes[offset] == UInt8(ascii: "-")
                offset += 1
            }
            guard offset < bytes.count, Self.isDigit(bytes[offset]) else { throw error("invalid number: digit expected in exponent") }
            while offset < bytes.count, Self.isDigit(bytes[offset]) {
                if explicitExponent < 100_000 { explicitExponent = explicitExponent * 10 + Int(bytes[offset] &- 48) }
                offset += 1
            }
            if exponentNegative { explicitExponent = -explicitExponent }
        }
        let length = offset - start
        guard length <= Self.maxNumberLength else {
            offset = start
            throw error("number literal longer than \(Self.maxNumberLength) characters")
        }
        // Fast path (Clinger): a mantissa below 2^53 and a power of ten up to 10^22 are both exact
        // doubles, so one multiplication or division gives the correctly rounded result.
        let power = exponent + explicitExponent
        if digits <= 19, mantissa < (1 << 53), abs(power) <= 22 {
            let m = Double(mantissa)
            let value = power < 0 ? m / Self.powersOfTen[-power] : m * Self.powersOfTen[power]
            return negative ? -value : value
        }
        // Everything else goes through the standard library's correctly rounded parser. The grammar
        // above is a subset of what it accepts; short literals stay in a small, unallocated string.
        let text = bytes.withUnsafeBufferPointer { buf in
            String(decoding: UnsafeBufferPointer(rebasing: buf[start..<offset]), as: UTF8.self)
        }
        guard let value = Double(text) else {
            offset = start
            throw error("invalid number")
        }
        return value
    }

    private static let powersOfTen: [Double] = (0...22).map { e in
        var v = 1.0
        for _ in 0..<e { v *= 10 }
        return v
    }

    /// Reads a string, decoding escapes; invalid UTF-8 and unpaired surrogates are errors.
    mutating func readString() throws(JSONSyntaxError) -> String {
        try expect(UInt8(ascii: "\""))
        var scalars = String.UnicodeScalarView()
        var run = offset
        // Fast path: copy runs of plain bytes, validated as UTF-8, between escapes.
        func flush(_ end: Int) throws(JSONSyntaxError) {
            guard end > run else { return }
            let chunk = Array(bytes[run..<end])
            guard let s = String(validating: chunk, as: UTF8.self) else {
                throw JSONSyntaxError(message: "invalid UTF-8 in string", offset: run)
            }
            scalars.append(contentsOf: s.unicodeScalars)
        }
        while true {
            guard offset < bytes.count else { throw error("unterminated string") }
            let b = bytes[offset]
            switch b {
            case UInt8(ascii: "\""):
                try flush(offset)
                offset += 1
                return String(scalars)
            case UInt8(ascii: "\\"):
                try flush(offset)
                offset += 1
                guard offset < bytes.count else { throw error("unterminated escape") }
                let e = bytes[offset]
                offset += 1
                switch e {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    let unit = try readHex4()
                    if (0xD800..<0xDC00).contains(unit) {
                        guard offset + 1 < bytes.count, bytes[offset] == UInt8(ascii: "\\"),
                              bytes[offset + 1] == UInt8(ascii: "u") else {
                            throw error("unpaired surrogate in \\u escape")
                        }
                        offset += 2
                        let low = try readHex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate in \\u escape") }
                        let value = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                        guard let scalar = Unicode.Scalar(value) else { throw error("invalid \\u escape") }
                        scalars.append(scalar)
                    } else {
                        guard let scalar = Unicode.Scalar(unit) else { throw error("unpaired surrogate in \\u escape") }
                        scalars.append(scalar)
                    }
                default:
                    offset -= 1
                    throw error("invalid escape \\\(Character(Unicode.Scalar(e)))")
                }
                run = offset
            case 0..<0x20:
                throw error("control character in string")
            default:
                offset += 1
            }
        }
    }

    private mutating func readHex4() throws(JSONSyntaxError) -> UInt32 {
        guard offset + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[offset]
            let digit: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(b - UInt8(ascii: "A") + 10)
            default: throw error("invalid hex digit in \\u escape")
            }
            value = value << 4 | digit
            offset += 1
        }
        return value
    }

    static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    static func describe(_ b: UInt8) -> String {
        if b >= 0x20 && b < 0x7F { return "'\(Character(Unicode.Scalar(b)))'" }
        return "byte 0x" + String(b, radix: 16)
    }
}
