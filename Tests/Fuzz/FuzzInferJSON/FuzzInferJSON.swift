// libFuzzer target: the JSON `POST /infer` body (`JSONInferRequestDecoder`, with `JSONReader` and
// `TensorJSONDecoder` under it).
//
// Properties: the decoder returns a request or throws a client error (never a 500, trap or
// hang); a returned tensor has as many values as its shape implies, all finite; and a request
// written back as JSON (shape-and-data form) decodes to the same request, bit for bit.
import DyNN
@testable import DyServe
import FuzzSupport

/// Small enough that the fuzzer reaches the limit, large enough for every seed.
private let decoder = JSONInferRequestDecoder(maxDepth: 64, maxElements: 4096)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInferJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let request: InferRequest
    do {
        request = try decoder.decode(Fuzz.bytes(data, size))
    } catch {
        Fuzz.checkClientError(error, parser: "JSONInferRequestDecoder")
        return 0
    }
    for (name, tensor) in tensors(of: request) {
        Fuzz.check(tensor.shape.reduce(1, *) == tensor.count, "\(name): shape \(tensor.shape) but \(tensor.count) values")
        Fuzz.check(tensor.count <= decoder.maxElements, "\(name): \(tensor.count) values, over the limit")
        Fuzz.check(tensor.data.allSatisfy(\.isFinite), "\(name): a non-finite value was accepted")
    }
    let again: InferRequest
    do {
        again = try decoder.decode(rewritten(request))
    } catch {
        Fuzz.fail("the request written back as JSON is refused: \(error)")
    }
    Fuzz.check(same(request, again), "the request written back as JSON decodes differently")
    return 0
}

private func tensors(of request: InferRequest) -> [(String, Tensor)] {
    if let input = request.input { return [("input", input)] }
    return (request.namedInputs ?? []).map { ("inputs.\($0.name)", $0.tensor) }
}

/// The request as a JSON body with every field it set, tensors in the `{"shape", "data"}` form.
private func rewritten(_ request: InferRequest) -> [UInt8] {
    func tensor(_ t: Tensor, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("shape")
        writer.ints(t.shape)
        writer.key("data")
        writer.floats(t.data)
        writer.endObject()
    }
    var writer = JSONWriter()
    writer.beginObject()
    writer.key("model")
    writer.string(request.model)
    if let input = request.input {
        writer.key("input")
        tensor(input, into: &writer)
    }
    if let named = request.namedInputs {
        writer.key("inputs")
        writer.beginObject()
        for (name, t) in named {
            writer.key(name)
            tensor(t, into: &writer)
        }
        writer.endObject()
    }
    if let temperature = request.temperature {
        writer.key("temperature")
        writer.float(temperature)
    }
    writer.key("trace")
    writer.string(request.trace.rawValue)
    writer.key("return_trace")
    writer.bool(request.returnTrace)
    if let topK = request.topK {
        writer.key("top_k")
        writer.int(topK)
    }
    if let timeout = request.timeout {
        writer.key("timeout")
        writer.int(Int(timeout / 1_000_000))
    }
    writer.endObject()
    return writer.bytes
}

private func same(_ a: InferRequest, _ b: InferRequest) -> Bool {
    let ta = tensors(of: a), tb = tensors(of: b)
    return a.model == b.model && a.temperature?.bitPattern == b.temperature?.bitPattern && a.trace == b.trace
        && a.returnTrace == b.returnTrace && a.topK == b.topK && a.timeout == b.timeout
        && ta.count == tb.count
        && zip(ta, tb).allSatisfy { $0.0 == $1.0 && $0.1.shape == $1.1.shape && Fuzz.sameBits($0.1.data, $1.1.data) }
}
