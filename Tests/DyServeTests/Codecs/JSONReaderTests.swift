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
