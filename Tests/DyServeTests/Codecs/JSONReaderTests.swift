import DyNN
import Foundation
import Testing
@testable import DyServe

@Suite struct JSONReaderTests {
    func parse(_ text: String, maxDepth: Int = 16) throws -> ParsedJSON {
        var r = JSONReader(bytes: Array(text.utf8), maxDepth: maxDepth)
        let v = try r.readValue(depth: 0)
        try r.expectEnd()
        return v
    }

    @Test func readsEveryKindOfValue() throws {
        let v = try parse(#" {"a": [1, -2.5e3, true, false, null], "b": "x\"\\\/\n\u00e9\ud83d\ude00"} "#)
        #expect(v == .object([
            ("a", .array([.number(1), .number(-2500), .bool(true), .bool(false), .null])),
            ("b", .string("x\"\\/\né😀")),
        ]))
    }

    @Test(arguments: ["", "{", "[1,", "[1 2]", "{\"a\" 1}", "{\"a\":}", "tru", "nul", "\"abc", "01", "1.", "1e",
                      "-", "+1", ".5", "NaN", "Infinity", "-Infinity", "0x10", "[1,]", "{\"a\":1,}", "'a'",
                      "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"a\u{01}b\"", "1 2", "[]]"])
    func rejectsMalformedDocuments(_ text: String) {
        #expect(throws: JSONSyntaxError.self) { try parse(text) }
    }

    @Test func rejectsInvalidUTF8InStrings() {
        var r = JSONReader(bytes: [0x22, 0xFF, 0xFE, 0x22], maxDepth: 4)
        #expect(throws: JSONSyntaxError.self) { try r.readValue(depth: 0) }
    }

    @Test func depthLimitStopsDeepNestingWithoutRecursingFurther() throws {
        #expect(try parse("[[[1]]]", maxDepth: 3) == .array([.array([.array([.number(1)])])]))
        #expect(throws: JSONSyntaxError.self) { try parse("[[[[1]]]]", maxDepth: 3) }
        // A million open brackets: must fail at the limit, not overflow the stack.
        let hostile = String(repeating: "[", count: 1_000_000)
        let error = #expect(throws: JSONSyntaxError.self) { try parse(hostile, maxDepth: 64) }
        #expect(error?.message.contains("nesting deeper") == true)
        let objects = String(repeating: "{\"a\":", count: 100_000)
        #expect(throws: JSONSyntaxError.self) { try parse(objects, maxDepth: 64) }
    }

    @Test func hugeNumbersBecomeInfinityAndOverlongLiteralsAreRejected() throws {
        #expect(try parse("1e999") == .number(.infinity))
        #expect(try parse("-1e999") == .number(-.infinity))
        #expect(try parse("1e-999") == .number(0))
        let long = "1" + String(repeating: "0", count: 600)
        #expect(throws: JSONSyntaxError.self) { try parse(long) }
    }

    @Test func errorsCarryTheByteOffset() {
        let error = #expect(throws: JSONSyntaxError.self) { try parse("[1, 2, x]") }
        #expect(error?.offset == 7)
        #expect(error?.description.contains("byte 7") == true)
    }
}

@Suite struct JSONNumberTests {
    func number(_ text: String) throws -> Double {
        var r = JSONReader(bytes: Array(text.utf8), maxDepth: 4)
        return try r.readNumber()
    }

    /// The fast path and the fallback must both agree with the standard library's parser.
    @Test func agreesWithTheStandardLibrary() throws {
        let samples = ["0", "-0", "1", "-1", "0.1", "0.5372549295425415", "0.12345678901234567", "123456789012345678901234",
                       "1e22", "1e23", "1.7976931348623157e308", "4.9e-324", "2.2250738585072014e-308", "9007199254740993",
                       "0.000001", "1E5", "1e+5", "-2.5e-3", "3.14159", "100", "0.30000000000000004",
                       "0.0000000000000000000000000001", "123.456e-10", "18446744073709551615", "18446744073709551616"]
        for s in samples {
            #expect(try number(s) == Double(s)!, "\(s)")
            #expect(try number(s).sign == Double(s)!.sign, "\(s)")
        }
        var rng = SplitMix64(seed: 3)
        for _ in 0..<20_000 {
            let f = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            guard f.isFinite else { continue }
            let d = Double(bitPattern: rng.next())
            for s in [f.description, d.isFinite ? d.description : "1", String(Double(f))] {
                let json = s.replacingOccurrences(of: "+", with: "")
                #expect(try number(json) == Double(json)!, "\(json)")
            }
        }
    }
}
