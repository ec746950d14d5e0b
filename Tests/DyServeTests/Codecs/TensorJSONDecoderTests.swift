import DyNN
import Testing
@testable import DyServe

@Suite struct TensorJSONDecoderTests {
    func decode(_ text: String, maxElements: Int = 1000, maxDepth: Int = 16) throws(RequestError) -> Tensor {
        var r = JSONReader(bytes: Array(text.utf8), maxDepth: maxDepth)
        return try TensorJSONDecoder(maxElements: maxElements).decode(from: &r, depth: 1)
    }

    func message(_ text: String, maxElements: Int = 1000) -> (status: Int, message: String)? {
        do {
            _ = try decode(text, maxElements: maxElements)
            return nil
        } catch {
            return (error.status, error.message)
        }
    }

    @Test func nestedArraysGiveShapeAndRowMajorData() throws {
        let t = try decode("[[[1, 2], [3, 4]], [[5, 6], [7, 8.5]]]")
        #expect(t.shape == [2, 2, 2])
        #expect(t.data == [1, 2, 3, 4, 5, 6, 7, 8.5])
        #expect(try decode("[]").shape == [0])
        #expect(try decode("[[], []]").shape == [2, 0])
        #expect(try decode("[7]").data == [7])
    }

    @Test func shapeAndDataForm() throws {
        let t = try decode(#"{"data": [1, 2, 3, 4, 5, 6], "shape": [1, 2, 3], "datatype": "FP32"}"#)
        #expect(t.shape == [1, 2, 3])
        #expect(t.data == [1, 2, 3, 4, 5, 6])
    }

    @Test(arguments: [
        ("[[1, 2], [3]]", "input[1] has 1 elements; expected 2"),
        ("[[1, 2], 3]", "input[1] is a number; expected an array"),
        ("[1, [2]]", "input[1] is an array; expected a number"),
        ("[[1], []]", "input[1] has 0 elements; expected 1"),
        ("[[], [1]]", "input[1] has 1 elements; expected 0"),
        ("[[1, \"NaN\"]]", "input[0][1] is a string; expected a number"),
        ("[[1, null]]", "input[0][1] is null; expected a number"),
        ("[[1, true]]", "input[0][1] is a boolean; expected a number"),
        ("[[1, {}]]", "input[0][1] is an object; expected a number"),
        ("[1e39]", "input[0]: 1e+39 is not a finite FP32 number"),
        ("[-1e999]", "input[0]: -inf is not a finite FP32 number"),
        ("\"abc\"", "input is a string"),
        ("42", "input is a number"),
    ])
    func malformedNestedInputSaysWhatAndWhere(_ text: String, _ expected: String) {
        let got = message(text)
        #expect(got?.status == 400)
        #expect(got?.message.contains(expected) == true, "\(got?.message ?? "no error")")
    }

    @Test(arguments: [
        (#"{"shape": [1, 2]}"#, "input.data is missing"),
        (#"{"data": [1, 2]}"#, "input.shape is missing"),
        (#"{"shape": [1, 3], "data": [1, 2]}"#, "input.shape [1, 3] needs 3 values; input.data has 2"),
        (#"{"shape": [1.5], "data": [1]}"#, "input.shape[0] is 1.5"),
        (#"{"shape": [-1], "data": [1]}"#, "input.shape[0] is -1.0"),
        (#"{"shape": ["1"], "data": [1]}"#, "input.shape[0] is a string"),
        (#"{"shape": 3, "data": [1]}"#, "input.shape is a number"),
        (#"{"shape": [1], "data": [[1]]}"#, "input.data[0] is an array; expected a number"),
        (#"{"shape": [1], "data": ["Infinity"]}"#, "input.data[0] is a string"),
        (#"{"shape": [1], "data": 1}"#, "input.data is a number"),
        (#"{"shape": [1], "data": [1], "datatype": "FP16"}"#, "input.datatype must be \"FP32\""),
        (#"{"shape": [1], "data": [1], "extra": 1}"#, "unknown field \"extra\""),
        (#"{"shape": [1], "shape": [1], "data": [1]}"#, "input.shape appears twice"),
    ])
    func malformedShapeDataInputSaysWhat(_ text: String, _ expected: String) {
        let got = message(text)
        #expect(got?.status == 400)
        #expect(got?.message.contains(expected) == true, "\(got?.message ?? "no error")")
    }

    @Test func elementLimitIsEnforcedWhileReading() {
        #expect(message("[1, 2, 3, 4]", maxElements: 3)?.status == 413)
        #expect(message(#"{"shape": [4], "data": [1, 2, 3, 4]}"#, maxElements: 3)?.status == 413)
        // Shapes whose product overflows Int are rejected, never multiplied blindly.
        let overflow = #"{"shape": [4294967296, 4294967296, 4294967296], "data": []}"#
        #expect(message(overflow, maxElements: Int.max)?.status == 413)
        #expect(message(#"{"shape": [1e300], "data": []}"#)?.status == 413)
        #expect(message(#"{"shape": [9223372036854775807], "data": []}"#, maxElements: Int.max)?.status == 413)
        #expect(message(#"{"shape": [0, 1e300], "data": []}"#)?.status == 413)
    }

    @Test func truncatedInputIsMalformedJSON() {
        for text in ["[[1, 2], [3", "[[1, 2], [3, 4]", "{\"shape\": [1], \"data\": [1", "[", "{"] {
            let got = message(text)
            #expect(got?.status == 400, "\(text)")
            #expect(got?.message.contains("malformed JSON") == true, "\(text): \(got?.message ?? "")")
        }
    }

    @Test func deepNestingIsStoppedByTheDepthLimit() {
        let deep = String(repeating: "[", count: 200_000) + "1" + String(repeating: "]", count: 200_000)
        #expect(throws: RequestError.self) { try decode(deep, maxDepth: 32) }
    }
}
