import DyNN
import Testing
@testable import DyServe

@Suite struct JSONInferRequestDecoderTests {
    let decoder = JSONInferRequestDecoder(maxDepth: 8, maxElements: 100)

    func decode(_ text: String) throws(RequestError) -> InferRequest {
        try decoder.decode(Array(text.utf8))
    }

    @Test func readsEveryField() throws {
        let r = try decode(#"{"model": "m", "input": [[1, 2]], "temperature": 30, "trace": "full", "return_trace": true, "top_k": 3}"#)
        #expect(r.model == "m")
        #expect(r.input?.shape == [1, 2])
        #expect(r.temperature == 30)
        #expect(r.trace == .full)
        #expect(r.returnTrace)
        #expect(r.topK == 3)
    }

    @Test func defaultsRecordAttention() throws {
        let r = try decode(#"{"input": {"shape": [1], "data": [0]}, "model": "m"}"#)
        #expect(r.trace == .attention)
        #expect(!r.returnTrace)
        #expect(r.temperature == nil && r.topK == nil)
    }

    @Test(arguments: [
        ("", "the body is empty"),
        ("   ", "the body is empty"),
        ("[1]", "the body is an array; expected a JSON object"),
        (#"{"input": [1]}"#, "model is missing"),
        (#"{"model": "m"}"#, "input is missing"),
        (#"{"model": 1, "input": [1]}"#, "model is a number; expected a string"),
        (#"{"model": "m", "input": [1], "temperature": "hot"}"#, "temperature is a string; expected a number"),
        (#"{"model": "m", "input": [1], "temperature": 0}"#, "temperature must be a finite number greater than 0"),
        (#"{"model": "m", "input": [1], "temperature": 1e39}"#, "beyond the FP32 range"),
        (#"{"model": "m", "input": [1], "temperature": 1e-50}"#, "below the smallest positive FP32 value"),
        (#"{"model": "m", "input": [1], "top_k": 1000001}"#, "must be an integer from 1 to 1000000"),
        (#"{"model": "m", "input": [1], "top_k": 0}"#, "must be an integer from 1 to 1000000"),
        (#"{"model": "m", "input": [1], "temperature": -1}"#, "temperature must be"),
        (#"{"model": "m", "input": [1], "temperature": 1e999}"#, "temperature must be"),
        (#"{"model": "m", "input": [1], "trace": "everything"}"#, "trace must be \"attention\", \"full\" or \"none\""),
        (#"{"model": "m", "input": [1], "return_trace": "yes"}"#, "return_trace is a string; expected a boolean"),
        (#"{"model": "m", "input": [1], "top_k": 0}"#, "top_k must be an integer from 1 to 1000000"),
        (#"{"model": "m", "input": [1], "top_k": 2.5}"#, "top_k must be an integer from 1 to 1000000"),
        (#"{"model": "m", "input": [1], "temprature": 2}"#, "unknown field \"temprature\""),
        (#"{"model": "m", "model": "n", "input": [1]}"#, "field \"model\" appears twice"),
        (#"{"model": "m", "input": [1]} x"#, "after the end of the document"),
        (#"{"model": "m", "input": [1]"#, "malformed JSON"),
        (#"{"model": "m" "input": [1]}"#, "malformed JSON"),
    ])
    func rejectsBadRequestsWithAMessage(_ text: String, _ expected: String) {
        do {
            _ = try decode(text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.status == 400)
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }

    @Test func depthCountsTheWholeDocument() throws {
        // Depth 8: the object is 1, so a rank-7 input fits and a rank-8 one does not.
        let ok = #"{"model": "m", "input": [[[[[[[1]]]]]]]}"#
        #expect(try decode(ok).input?.rank == 7)
        let deep = #"{"model": "m", "input": [[[[[[[[1]]]]]]]]}"#
        #expect(throws: RequestError.self) { try decode(deep) }
        let deepOther = #"{"model": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": 1}}}}}}}}, "input": [1]}"#
        #expect(throws: RequestError.self) { try decode(deepOther) }
    }

    @Test func bodiesOfRandomBytesNeverCrash() {
        var rng = SplitMix64(seed: 42)
        let alphabet = Array("{}[]\",:0123456789.-eE truefalsnl\\u".utf8)
        for _ in 0..<2000 {
            let count = Int(rng.next() % 64)
            let bytes = (0..<count).map { _ in
                rng.next() % 4 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : alphabet[Int(rng.next() % UInt64(alphabet.count))]
            }
            _ = try? decoder.decode(bytes)
        }
        // Reaching here without a trap is the assertion; a well-formed request still decodes after.
        #expect((try? decode(#"{"model": "m", "input": [1]}"#)) != nil)
    }
}
