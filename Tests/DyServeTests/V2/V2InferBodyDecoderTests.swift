import DyNN
import Testing
@testable import DyServe

@Suite struct V2InferBodyDecoderTests {
    let info = TestModel().info  // input "input" [-1, 1, 2, 2], output "probs" [-1, 3]
    var decoder = V2InferBodyDecoder(maxDepth: 16, maxElements: 1000)

    func decode(_ json: String, binary: [UInt8] = [], headerLength: String? = nil,
                decoder: V2InferBodyDecoder? = nil, info: ServedModelInfo? = nil) throws(RequestError) -> V2InferRequest {
        let body = Array(json.utf8) + binary
        let length = headerLength ?? (binary.isEmpty ? nil : String(json.utf8.count))
        return try (decoder ?? self.decoder).decode(body: body, headerLength: length, model: info ?? self.info)
    }

    func rejects(_ json: String, binary: [UInt8] = [], headerLength: String? = nil, status: Int = 400,
                 _ fragment: String, decoder: V2InferBodyDecoder? = nil, info: ServedModelInfo? = nil,
                 sourceLocation: SourceLocation = #_sourceLocation) {
        let e = requestError { try decode(json, binary: binary, headerLength: headerLength, decoder: decoder, info: info) }
        #expect(e?.status == status, "\(e?.description ?? "accepted")", sourceLocation: sourceLocation)
        #expect(e?.message.contains(fragment) == true, "\(e?.message ?? "accepted")", sourceLocation: sourceLocation)
    }

    static let input = #""name": "input", "shape": [1, 1, 2, 2], "datatype": "FP32""#

    @Test func jsonFlatAndNested() throws {
        let flat = try decode(#"{"id": "a", "inputs": [{\#(Self.input), "data": [1, 2, 3, 4]}]}"#)
        #expect(flat.input.shape == [1, 1, 2, 2] && flat.input.data == [1, 2, 3, 4])
        #expect(flat.header.id == "a" && flat.header.outputs == nil && !flat.header.binaryDataOutput)
        let nested = try decode(#"{"inputs": [{"data": [[[[1, 2], [3, 4]]]], \#(Self.input)}]}"#)
        #expect(nested.input.data == [1, 2, 3, 4])
        let converted = try decode(#"{"inputs": [{"name": "input", "shape": [1, 1, 2, 2], "datatype": "UINT8", "data": [0, 16, 255, 7]}]}"#)
        #expect(converted.input.data == [0, 16, 255, 7])
    }

    @Test func parametersAndOutputs() throws {
        let r = try decode(#"""
            {"inputs": [{\#(Self.input), "data": [1, 2, 3, 4]}],
             "parameters": {"binary_data_output": true, "trace": "full", "temperature": 2.5, "priority": 3},
             "outputs": [{"name": "probs", "parameters": {"binary_data": false}}, {"name": "attention/conv1"}]}
            """#)
        #expect(r.header.binaryDataOutput && r.header.trace == .full && r.header.temperature == 2.5)
        #expect(r.header.outputs == [V2RequestedOutput(name: "probs", binary: false), V2RequestedOutput(name: "attention/conv1", binary: nil)])
    }

    @Test func binaryInputs() throws {
        let header = #"{"inputs": [{\#(Self.input), "parameters": {"binary_data_size": 16}}]}"#
        let r = try decode(header, binary: littleEndian([1, 2, 3, 4]))
        #expect(r.input.data == [1, 2, 3, 4])
        let halves = #"{"inputs": [{"name": "input", "shape": [2, 1, 2, 2], "datatype": "FP16", "parameters": {"binary_data_size": 16}}]}"#
        let h = try decode(halves, binary: [0x00, 0x3C, 0x00, 0x40, 0x00, 0x42, 0x00, 0x44] + [UInt8](repeating: 0, count: 8))
        #expect(h.input.shape == [2, 1, 2, 2] && Array(h.input.data.prefix(4)) == [1, 2, 3, 4])
    }

    @Test func rawBodyInfersTheBatch() throws {
        let r = try decoder.decode(body: littleEndian([1, 2, 3, 4, 5, 6, 7, 8]), headerLength: "0", model: info)
        #expect(r.input.shape == [2, 1, 2, 2] && r.header.binaryDataOutput)
        for bad in [littleEndian([1, 2, 3]), []] {
            let e = requestError { try decoder.decode(body: bad, headerLength: "0", model: info) }
            #expect(e?.message.contains("multiple of 16 bytes") == true, "\(e?.message ?? "accepted")")
        }
    }

    @Test func malformedJSONHeaders() {
        rejects("", "empty")
        rejects("{", "malformed JSON")
        // Bytes after the JSON: with the header length they are a JSON error, without it most
        // likely binary data sent without the header.
        rejects(#"{"inputs": [{\#(Self.input), "data": [1, 2, 3, 4]}]} x"#, headerLength: "98", "after the end")
        rejects(#"{"inputs": [{\#(Self.input), "data": [1, 2, 3, 4]}]} x"#, "Inference-Header-Content-Length header is missing")
        rejects("[1]", "an array; expected a JSON object")
        rejects(#"{"inputs": {}}"#, "inputs is an object; expected an array")
        rejects(#"{"inputs": [], "inputs": []}"#, "appears twice")
        rejects(#"{"inputs": [7]}"#, "inputs[0] is a number")
        rejects(#"{"inputs": [{"shape": [1, 1, 2, 2], "datatype": "FP32", "data": [1, 2, 3, 4]}]}"#, "inputs[0].name is missing")
        rejects(#"{"inputs": [{"name": "input", "datatype": "FP32", "data": [1, 2, 3, 4]}]}"#, "shape is missing")
        rejects(#"{"inputs": [{"name": "input", "shape": [1, 1, 2, 2], "data": [1, 2, 3, 4]}]}"#, "datatype is missing")
        rejects(#"{"inputs": [{\#(Self.input)}]}"#, "neither data nor")
        rejects(#"{"inputs": [{\#(Self.input), "data": [1], "parameters": {"binary_data_size": 4}}]}"#, "both data and")
        rejects(#"{"inputs": [{\#(Self.input), "data": [1, 2, "3", 4]}]}"#, "data[2] is a string")
        rejects(#"{"inputs": [{\#(Self.input), "data": [1, 2, 3, 4], "colour": 1}]}"#, "unknown field \"colour\"")
        rejects(#"{"inputs": [{"name": "input", "shape": [1, -1, 2, 2], "datatype": "FP32", "data": []}]}"#, "non-negative integer")
        rejects(#"{"inputs": [{"name": "input", "shape": [1, 1.5], "datatype": "FP32", "data": []}]}"#, "non-negative integer")
        rejects(#"{"inputs": [{\#(Self.input), "data": [1, 2, 3, 4]}], "outputs": [{"parameters": {}}]}"#, "outputs[0].name is missing")
        rejects(#"{"inputs": [{\#(Self.input), "data": [1, 2, 3, 4]}], "outputs": [{"name": "probs", "parameters": {"classification": 0}}]}"#, "classification must be a positive integer")
        rejects(#"{"inputs": [{\#(Self.input), "data": [1, 2, 3, 4]}], "outputs": [{"name": "probs", "parameters": {"classification": "3"}}]}"#, "classification must be a positive integer")
        rejects(#"{"inputs": [{\#(Self.input), "data": [1, 2, 3, 4]}], "parameters": {"binary_data_output": "yes"}}"#, "expected a boolean")
        rejects(#"{"inputs": [{\#(Self.input), "data": [1, 2, 3, 4]}], "parameters": {"trace": "all"}}"#, "parameters.trace")
        rejects(#"{"inputs": [{\#(Self.input), "data": [1, 2, 3, 4]}], "parameters": {"temperature": -1}}"#, "temperature")
        rejects(#"{"id": 5, "inputs": []}"#, "id is a number")
    }

    @Test func tensorsThatDoNotFitTheModel() {
        rejects(#"{"inputs": []}"#, "input \"input\" is missing")
        rejects(#"{"inputs": [{"name": "x", "shape": [1, 1, 2, 2], "datatype": "FP32", "data": [1, 2, 3, 4]}]}"#, "no input \"x\"")
        rejects(#"{"inputs": [{\#(Self.input), "data": [1, 2, 3, 4]}, {\#(Self.input), "data": [1, 2, 3, 4]}]}"#, "appears twice")
        rejects(#"{"inputs": [{"name": "input", "shape": [1, 1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}"#, "does not match the model's [-1,1,2,2]")
        rejects(#"{"inputs": [{"name": "input", "shape": [0, 1, 2, 2], "datatype": "FP32", "data": []}]}"#, "the batch is empty")
        rejects(#"{"inputs": [{\#(Self.input), "data": [1, 2, 3]}]}"#, "needs 4 values; data has 3")
        rejects(#"{"inputs": [{\#(Self.input), "data": [[1, 2], [3, 4], [5]]}]}"#, "inputs[0].data[2] has 1 elements but inputs[0].data[0] has 2")
        rejects(#"{"inputs": [{"name": "input", "shape": [1, 1, 2, 2], "datatype": "BYTES", "data": [1, 2, 3, 4]}]}"#, "BYTES is not accepted")
        rejects(#"{"inputs": [{"name": "input", "shape": [1, 1, 2, 2], "datatype": "INT32", "data": [1, 2, 3, 16777217]}]}"#, "input \"input\" data[3]: INT32 value 16777217")
        rejects(#"{"inputs": [{"name": "input", "shape": [1, 1, 2, 2], "datatype": "FP16X", "data": [1, 2, 3, 4]}]}"#, "not a V2 datatype")
    }

    @Test func hostileBinaryHeaders() {
        let header = #"{"inputs": [{\#(Self.input), "parameters": {"binary_data_size": 16}}]}"#
        let n = header.utf8.count
        let x = littleEndian([1, 2, 3, 4])
        rejects(header, binary: x, headerLength: String(n + 17), "the body has only")
        rejects(header, binary: x, headerLength: "-5", "non-negative integer")
        rejects(header, binary: x, headerLength: "12a", "non-negative integer")
        rejects(header, binary: x, headerLength: "99999999999999999999", "non-negative integer")
        rejects(header, binary: x, headerLength: String(n - 1), "malformed JSON")
        rejects(header, binary: x + [0], "add up to 16")
        rejects(header, binary: Array(x.prefix(12)), "past the end")
        rejects(#"{"inputs": [{\#(Self.input), "parameters": {"binary_data_size": 12}}]}"#, binary: Array(x.prefix(12)), "needs 16 bytes; binary_data_size is 12")
        rejects(#"{"inputs": [{\#(Self.input), "parameters": {"binary_data_size": 8}}]}"#, binary: x, "needs 16 bytes")
        rejects(#"{"inputs": [{"name": "input", "shape": [1, 1, 2, 2], "datatype": "FP64", "parameters": {"binary_data_size": 16}}]}"#, binary: x, "needs 32 bytes")
        rejects(#"{"inputs": [{\#(Self.input), "parameters": {"binary_data_size": 16}}]}"#, "no Inference-Header-Content-Length")
        rejects(#"{"inputs": [{\#(Self.input), "parameters": {"binary_data_size": -16}}]}"#, binary: x, "binary_data_size must be a non-negative integer")
        rejects(#"{"inputs": [{\#(Self.input), "parameters": {"binary_data_size": 1e300}}]}"#, binary: x, "binary_data_size must be a non-negative integer")
        rejects(#"{"inputs": [{"name": "input", "shape": [1, 1, 2, 2], "datatype": "BYTES", "parameters": {"binary_data_size": 16}}]}"#, binary: x, "BYTES")
        rejects(header, binary: littleEndian([1, .nan, 3, 4]), "element 1")
    }

    @Test func shapeTimesDatatypeOverflowIs400() {
        // A model whose batch is the only large dimension, and no element limit to stop it first.
        let wide = ServedModelInfo(name: "wide", version: "1", inputs: [ServedTensorSpec(name: "input", shape: [-1, 1])],
                                   outputs: [ServedTensorSpec(name: "y", shape: [-1, 1])])
        let unlimited = V2InferBodyDecoder(maxDepth: 16, maxElements: .max)
        let json = #"{"inputs": [{"name": "input", "shape": [2305843009213693952, 1], "datatype": "FP64", "parameters": {"binary_data_size": 8}}]}"#
        rejects(json, binary: [UInt8](repeating: 0, count: 8), "more than Int.max", decoder: unlimited, info: wide)
        rejects(#"{"inputs": [{"name": "input", "shape": [1e300, 1], "datatype": "FP32", "data": [1]}]}"#, "too large",
                decoder: unlimited, info: wide)
    }

    @Test func limitsOnElementsAndDepth() {
        let small = V2InferBodyDecoder(maxDepth: 16, maxElements: 3)
        rejects(#"{"inputs": [{\#(Self.input), "data": [1, 2, 3, 4]}]}"#, status: 413, "limit of 3", decoder: small)
        let deep = String(repeating: "[", count: 40) + "1" + String(repeating: "]", count: 40)
        rejects(#"{"inputs": [{\#(Self.input), "data": \#(deep)}]}"#, "nesting deeper than the limit of 16")
        rejects(String(repeating: "[", count: 100_000), "nesting deeper")
    }

    @Test func modelsWithSeveralInputsNeedEveryInput() throws {
        var two = info
        two.inputs.append(ServedTensorSpec(name: "mask", shape: [-1, 1]))
        rejects(#"{"inputs": []}"#, "input \"input\" is missing; model test takes \"input\", \"mask\"", info: two)
        rejects(#"{"inputs": [{\#(Self.input), "data": [1, 2, 3, 4]}]}"#, "input \"mask\" is missing", info: two)
        let r = try decode(#"{"inputs": [{"name": "mask", "shape": [1, 1], "datatype": "FP32", "data": [7]}, {\#(Self.input), "data": [1, 2, 3, 4]}]}"#, info: two)
        #expect(r.inputs.map(\.shape) == [[1, 1, 2, 2], [1, 1]] && r.inputs[1].data == [7])
    }
}
