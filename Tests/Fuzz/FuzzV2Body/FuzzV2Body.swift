// libFuzzer target: a KServe V2 inference body (`V2InferBodyDecoder`): the JSON header
// (`V2InferHeaderDecoder`), `Inference-Header-Content-Length` and the binary tensor framing,
// including the raw-body form (header length 0).
//
// Input layout: byte 0 picks the model (below); the text up to the first newline after it is the
// `Inference-Header-Content-Length` value ("-" for no such header); the rest is the body.
//
// Properties: a value or a client error (never a 500, trap or hang); every decoded input has the
// model's shape with one common batch, as many values as that shape implies, all finite, within
// the element limit; and the decoded tensors sent again as FP32 binary inputs decode to the
// same bits.
import DyNN
@testable import DyServe
import FuzzSupport

private let decoder = V2InferBodyDecoder(maxDepth: 64, maxElements: 4096)

/// One model per form of input the decoder handles: one FP32 input, two inputs, and one input
/// each of a half and an integer datatype (raw bodies are read in the model's own datatype).
private let models = [
    ServedModelInfo(name: "m", version: "1", inputs: [ServedTensorSpec(name: "input", shape: [-1, 1, 2, 2])],
                    outputs: [ServedTensorSpec(name: "probs", shape: [-1, 3])]),
    ServedModelInfo(name: "m", version: "1",
                    inputs: [ServedTensorSpec(name: "a", shape: [-1, 3]), ServedTensorSpec(name: "b", shape: [-1, 2, 2])],
                    outputs: [ServedTensorSpec(name: "probs", shape: [-1, 3])]),
    ServedModelInfo(name: "m", version: "1", inputs: [ServedTensorSpec(name: "input", datatype: "FP16", shape: [-1, 4])],
                    outputs: [ServedTensorSpec(name: "probs", shape: [-1, 3])]),
    ServedModelInfo(name: "m", version: "1", inputs: [ServedTensorSpec(name: "input", datatype: "INT16", shape: [2, -1])],
                    outputs: [ServedTensorSpec(name: "probs", shape: [-1, 3])]),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzV2Body(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Fuzz.bytes(data, size)
    guard let selector = bytes.first else { return 0 }
    let info = models[Int(selector) % models.count]
    let (line, body) = Fuzz.splitLine(Array(bytes.dropFirst()))
    let headerLength: String? = line == "-" ? nil : line
    let request: V2InferRequest
    do {
        request = try decoder.decode(body: body, headerLength: headerLength, model: info)
    } catch {
        Fuzz.checkClientError(error, parser: "V2InferBodyDecoder")
        return 0
    }
    Fuzz.check(request.inputs.count == info.inputs.count, "\(request.inputs.count) inputs for \(info.inputs.count)")
    for (tensor, spec) in zip(request.inputs, info.inputs) {
        do {
            try V2InferBodyDecoder.checkShape(tensor.shape, against: spec)
        } catch {
            Fuzz.fail("input \(spec.name) decoded with shape \(tensor.shape): \(error)")
        }
        Fuzz.check(tensor.shape.reduce(1, *) == tensor.count, "\(spec.name): shape \(tensor.shape), \(tensor.count) values")
        Fuzz.check(tensor.count <= decoder.maxElements, "\(spec.name): \(tensor.count) values, over the limit")
        Fuzz.check(tensor.data.allSatisfy(\.isFinite), "\(spec.name): a non-finite value was accepted")
        Fuzz.check(tensor.shape.first == request.inputs[0].shape.first, "inputs with different batch sizes")
    }
    // Every model above declares FP32 or a type FP32 holds exactly, so FP32 binary carries the values.
    let asBinary = binaryBody(request.inputs, specs: info.inputs)
    do {
        let again = try decoder.decode(body: asBinary.body, headerLength: String(asBinary.headerLength),
                                       model: fp32(info))
        Fuzz.check(zip(request.inputs, again.inputs).allSatisfy { $0.shape == $1.shape && Fuzz.sameBits($0.data, $1.data) },
                   "the inputs sent again as FP32 binary decode differently")
    } catch {
        Fuzz.fail("the inputs sent again as FP32 binary are refused: \(error)")
    }
    return 0
}

/// The model with FP32 inputs (the datatype the binary copy is sent in).
private func fp32(_ info: ServedModelInfo) -> ServedModelInfo {
    var copy = info
    copy.inputs = info.inputs.map { ServedTensorSpec(name: $0.name, shape: $0.shape) }
    return copy
}

/// A JSON header naming each input with `binary_data_size`, followed by the FP32 bytes.
private func binaryBody(_ tensors: [Tensor], specs: [ServedTensorSpec]) -> (body: [UInt8], headerLength: Int) {
    var writer = JSONWriter()
    writer.beginObject()
    writer.key("inputs")
    writer.beginArray()
    var data: [UInt8] = []
    for (tensor, spec) in zip(tensors, specs) {
        writer.beginObject()
        writer.key("name")
        writer.string(spec.name)
        writer.key("shape")
        writer.ints(tensor.shape)
        writer.key("datatype")
        writer.string("FP32")
        writer.key("parameters")
        writer.beginObject()
        writer.key("binary_data_size")
        writer.int(tensor.count * 4)
        writer.endObject()
        writer.endObject()
        for value in tensor.data {
            let bits = value.bitPattern
            data += [UInt8(bits & 0xFF), UInt8(bits >> 8 & 0xFF), UInt8(bits >> 16 & 0xFF), UInt8(bits >> 24)]
        }
    }
    writer.endArray()
    writer.endObject()
    return (writer.bytes + data, writer.bytes.count)
}
