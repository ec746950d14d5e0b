import DyNN

/// Splits a V2 inference body into its JSON header and binary tensors (Triton's binary tensor
/// extension) and turns the model's input into an FP32 `Tensor`.
///
/// Body layouts:
/// - no `Inference-Header-Content-Length`: the whole body is JSON;
/// - header length `h > 0`: `body[0..<h]` is JSON, the rest holds the binary inputs in input
///   order, each `parameters.binary_data_size` bytes long; those sizes must add up to the rest;
/// - header length 0: the body is the raw bytes of a single-input model's input (its model
///   datatype, batch inferred from the byte count), and every output comes back binary.
///
/// A model with several inputs gets each by name, in any order, each in JSON or binary (mixed
/// freely); every input must be there once and all must share one batch size.
///
/// Every length is checked against the buffer before it is read, with overflow-safe arithmetic,
/// so no header value can make the decoder read past the body.
struct V2InferBodyDecoder {
    var maxDepth: Int
    var maxElements: Int

    static let headerLengthField = "inference-header-content-length"

    func decode(body: [UInt8], headerLength: String?, model info: ServedModelInfo) throws(RequestError) -> V2InferRequest {
        guard !info.inputs.isEmpty else {
            throw .internalError("model \(info.name) declares no inputs")
        }
        let length = try Self.parseHeaderLength(headerLength, bodyCount: body.count)
        if length == 0 {
            guard info.inputs.count == 1 else {
                throw .badRequest("a raw binary body (Inference-Header-Content-Length: 0) carries one input; model \(info.name) takes \(info.inputs.count): send a JSON header")
            }
            return try decodeRaw(body, spec: info.inputs[0])
        }
        let jsonEnd = length ?? body.count
        let header = try V2InferHeaderDecoder(maxDepth: maxDepth, maxElements: maxElements, headerLengthGiven: length != nil)
            .decode(body[0..<jsonEnd])
        var binaryOffset = jsonEnd
        var tensors: [String: Tensor] = [:]
        for input in header.inputs {
            guard let spec = info.inputs.first(where: { $0.name == input.name }) else {
                throw .badRequest("model \(info.name) has no input \"\(input.name)\"; its inputs are "
                    + info.inputs.map { "\"\($0.name)\"" }.joined(separator: ", "))
            }
            guard tensors[input.name] == nil else { throw .badRequest("input \"\(input.name)\" appears twice") }
            let consumed = try decodeInput(input, body: body, binaryOffset: binaryOffset, hasBinary: length != nil, spec: spec)
            binaryOffset += consumed.bytes
            tensors[input.name] = consumed.tensor
        }
        guard binaryOffset == body.count else {
            throw .badRequest("the binary part has \(body.count - jsonEnd) bytes but the inputs' binary_data_size values add up to \(binaryOffset - jsonEnd)")
        }
        var ordered: [Tensor] = []
        for spec in info.inputs {
            guard let tensor = tensors[spec.name] else {
                throw .badRequest("input \"\(spec.name)\" is missing; model \(info.name) takes "
                    + info.inputs.map { "\"\($0.name)\"" }.joined(separator: ", "))
            }
            if let first = ordered.first, first.shape.first != tensor.shape.first {
                throw .badRequest("input \"\(spec.name)\" has batch size \(tensor.shape.first ?? 0) but input \"\(info.inputs[0].name)\" has \(first.shape.first ?? 0); every input needs the same batch size")
            }
            ordered.append(tensor)
        }
        return V2InferRequest(header: header, inputs: ordered)
    }

    /// `Inference-Header-Content-Length`: absent, or a decimal integer in `0...bodyCount`.
    static func parseHeaderLength(_ value: String?, bodyCount: Int) throws(RequestError) -> Int? {
        guard let value else { return nil }
        let text = Substring(value).strippingBlanks()
        guard !text.isEmpty, text.count <= 18, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(text) else {
            throw .badRequest("Inference-Header-Content-Length must be a non-negative integer, got \"\(value)\"")
        }
        guard n <= bodyCount else {
            throw .badRequest("Inference-Header-Content-Length is \(n) but the body has only \(bodyCount) bytes")
        }
        return n
    }

    /// One input whose name is `spec`'s.
    private func decodeInput(_ input: V2InputHeader, body: [UInt8], binaryOffset: Int, hasBinary: Bool,
                             spec: ServedTensorSpec) throws(RequestError) -> (tensor: Tensor, bytes: Int) {
        let named = "input \"\(input.name)\""
        try input.datatype.checkConvertible(input: input.name)
        try Self.checkShape(input.shape, against: spec)
        if let data = input.data {
            let count = try TensorJSONDecoder.elementCount(of: input.shape, field: "\(named) shape", maxElements: maxElements)
            // Nested data must spell the shape; flat data only needs the element count.
            if let dims = input.dataDims, dims.count > 1, dims != input.shape {
                throw .badRequest("\(named): data is nested as \(ShapeText.format(dims)) but the shape is \(ShapeText.format(input.shape))")
            }
            guard data.count == count else {
                throw .badRequest("\(named): shape \(ShapeText.format(input.shape)) needs \(count) values; data has \(data.count)")
            }
            var values = [Float](repeating: 0, count: count)
            for i in 0..<count {
                values[i] = try input.datatype.float(fromJSON: data[i], place: "\(named) data[\(i)]")
            }
            return (Tensor(shape: input.shape, data: values), 0)
        }
        guard let size = input.binaryDataSize else {
            throw .internalError("\(named) has neither data nor binary_data_size after decoding")
        }
        guard hasBinary else {
            throw .badRequest("\(named) has parameters.binary_data_size but the request has no Inference-Header-Content-Length header")
        }
        // The byte count shape x datatype implies must equal binary_data_size, computed without
        // any limit first so that a mismatch or an overflow is a malformed header (400).
        // checkConvertible rejected BYTES, the only type without a fixed size.
        let elementSize = input.datatype.byteSize ?? 1
        var expected: Int? = elementSize
        for d in input.shape {
            guard let e = expected else { break }
            let (p, overflow) = e.multipliedReportingOverflow(by: d)
            expected = overflow ? nil : p
        }
        guard let expected, expected == size else {
            throw .badRequest("\(named): shape \(ShapeText.format(input.shape)) x \(input.datatype.rawValue) needs \(expected.map(String.init) ?? "more than Int.max") bytes; binary_data_size is \(size)")
        }
        guard size <= body.count - binaryOffset else {
            throw .badRequest("\(named): binary_data_size \(size) goes past the end of the body (\(body.count - binaryOffset) bytes left)")
        }
        let count = try TensorJSONDecoder.elementCount(of: input.shape, field: "\(named) shape", maxElements: maxElements)
        var values = [Float](repeating: 0, count: count)
        // withUnsafeBytes is not typed-throws: carry the first failure out by hand.
        let failure: RequestError? = body.withUnsafeBytes { raw in
            let part = UnsafeRawBufferPointer(rebasing: raw[binaryOffset..<(binaryOffset + size)])
            do throws(RequestError) {
                for i in 0..<count {
                    values[i] = try input.datatype.float(fromBinary: part, at: i * elementSize, place: "\(named) element \(i)")
                }
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
        return (Tensor(shape: input.shape, data: values), size)
    }

    /// The shape must have the model's rank, a batch of at least one and its other dimensions.
    static func checkShape(_ shape: [Int], against spec: ServedTensorSpec) throws(RequestError) {
        let matches = shape.count == spec.shape.count
            && zip(shape, spec.shape).allSatisfy { got, want in want < 0 ? got >= 1 : got == want }
        guard matches else {
            throw .badRequest("input \"\(spec.name)\": shape \(ShapeText.format(shape)) does not match the model's \(ShapeText.format(spec.shape))"
                + (shape.first == 0 ? " (the batch is empty)" : ""))
        }
    }

    /// A raw body: the input's bytes alone; the batch dimension is whatever the byte count gives.
    private func decodeRaw(_ body: [UInt8], spec: ServedTensorSpec) throws(RequestError) -> V2InferRequest {
        guard let datatype = V2Datatype(rawValue: spec.datatype), let elementSize = datatype.byteSize else {
            throw .badRequest("input \"\(spec.name)\" has datatype \(spec.datatype), which a raw binary body cannot carry")
        }
        try datatype.checkConvertible(input: spec.name)
        let fixed = spec.shape.filter { $0 >= 0 }
        let variable = spec.shape.count - fixed.count
        let perSample = fixed.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
        let sampleBytes = perSample.multipliedReportingOverflow(by: elementSize)
        guard variable <= 1, !sampleBytes.overflow, sampleBytes.partialValue > 0 else {
            throw .badRequest("input \"\(spec.name)\" with shape \(ShapeText.format(spec.shape)) cannot be sent as a raw binary body; send a JSON header")
        }
        guard !body.isEmpty, body.count % sampleBytes.partialValue == 0 else {
            throw .badRequest("a raw binary body for input \"\(spec.name)\" must be a non-zero multiple of \(sampleBytes.partialValue) bytes (\(ShapeText.format(spec.shape)) x \(spec.datatype)); got \(body.count)")
        }
        let batch = body.count / sampleBytes.partialValue
        let shape = spec.shape.map { $0 < 0 ? batch : $0 }
        let header = V2InferHeader(inputs: [V2InputHeader(name: spec.name, shape: shape, datatype: datatype,
                                                          data: nil, binaryDataSize: body.count)],
                                   binaryDataOutput: true)
        let consumed = try decodeInput(header.inputs[0], body: body, binaryOffset: 0, hasBinary: true, spec: spec)
        return V2InferRequest(header: header, inputs: [consumed.tensor])
    }
}
