import DyNN
import Testing
@testable import DyServe

/// Nested `data` against the shape, and binary bodies sent without `Inference-Header-Content-Length`.
@Suite struct V2BodyChecksTests {
    let info = TestModel().info  // input "input" [-1, 1, 2, 2]
    let decoder = V2InferBodyDecoder(maxDepth: 16, maxElements: 1000)

    func rejects(_ body: [UInt8], headerLength: String? = nil, _ fragment: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
        let e = requestError { try decoder.decode(body: body, headerLength: headerLength, model: info) }
        #expect(e?.status == 400, "\(e?.description ?? "accepted")", sourceLocation: sourceLocation)
        #expect(e?.message.contains(fragment) == true, "\(e?.message ?? "accepted")", sourceLocation: sourceLocation)
    }

    func input(shape: String, data: String) -> [UInt8] {
        Array(#"{"inputs": [{"name": "input", "shape": \#(shape), "datatype": "FP32", "data": \#(data)}]}"#.utf8)
    }

    @Test func nestedDataThatSpellsTheShapeIsAccepted() throws {
        let r = try decoder.decode(body: input(shape: "[2, 1, 2, 2]", data: "[[[[1, 2], [3, 4]]], [[[5, 6], [7, 8]]]]"),
                                   headerLength: nil, model: info)
        #expect(r.input.shape == [2, 1, 2, 2] && r.input.data == [1, 2, 3, 4, 5, 6, 7, 8])
        // Flat data only needs the element count.
        let flat = try decoder.decode(body: input(shape: "[2, 1, 2, 2]", data: "[1, 2, 3, 4, 5, 6, 7, 8]"), headerLength: nil, model: info)
        #expect(flat.input.data == [1, 2, 3, 4, 5, 6, 7, 8])
    }

    @Test func raggedOrMisshapenNestedDataIs400NamingWhere() {
        rejects(input(shape: "[2, 1, 2, 2]", data: "[[[[1, 2], [3, 4]]], [[[5, 6], [7]]]]"),
                "inputs[0].data[1][0][1] has 1 elements but inputs[0].data[0][0][0] has 2")
        rejects(input(shape: "[1, 1, 2, 2]", data: "[[[[1, 2], 3]]]"), "inputs[0].data[0][0][1] is a number")
        rejects(input(shape: "[1, 1, 2, 2]", data: "[[[1, [2, 3], 4]]]"), "inputs[0].data[0][0][1]")
        rejects(input(shape: "[1, 1, 2, 2]", data: "[[1, 2], [3, 4]]"), "data is nested as [2,2] but the shape is [1,1,2,2]")
        rejects(input(shape: "[1, 1, 2, 2]", data: "[[[[1, 2, 3, 4]]]]"), "data is nested as [1,1,1,4]")
    }

    @Test func binaryBodyWithoutTheHeaderLengthSaysSo() {
        let json = Array(#"{"inputs": [{"name": "input", "shape": [1, 1, 2, 2], "datatype": "FP32", "parameters": {"binary_data_size": 16}}]}"#.utf8)
        let tensor = littleEndian([1, 2, 3, 4])
        rejects(json + tensor, "Inference-Header-Content-Length header is missing")
        rejects(json + Array("  \n".utf8) + tensor, "the body goes on after its JSON header")
        // A body of raw tensor bytes alone.
        rejects([0x00, 0x00, 0x80, 0x3f] + tensor.dropFirst(4), "the body is not JSON and the Inference-Header-Content-Length header is missing")
        // With the header the same body is fine.
        #expect(requestError { _ = try decoder.decode(body: json + tensor, headerLength: String(json.count), model: info) } == nil)
    }
}
