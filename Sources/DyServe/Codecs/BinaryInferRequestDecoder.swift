import DyNN

/// Decodes binary `POST /infer?model=...` bodies: raw FP32 little-endian with an
/// `X-Tensor-Shape` header, or a `.npy` file. Options come from the query string
/// (`temperature`, `trace`, `return_trace`, `top_k`).
struct BinaryInferRequestDecoder {
    var maxElements: Int
    /// Reads a `.npy` file into a tensor (the model library's reader, injected so this type
    /// stays testable on its own).
    var readNpy: @Sendable ([UInt8]) throws -> Tensor

    static let knownQueryKeys = ["model", "temperature", "trace", "return_trace", "top_k"]
    /// Rank limit for a header shape: far above any real model, low enough to keep messages short.
    static let maxRank = 16

    enum Format { case rawFP32, npy }

    func decode(_ request: HTTPRequest, format: Format) throws(RequestError) -> InferRequest {
        var options = try Self.queryOptions(request.query)
        let tensor: Tensor
        switch format {
        case .rawFP32:
            guard let header = request.headers["x-tensor-shape"] else {
                throw .badRequest("application/octet-stream needs an X-Tensor-Shape header, e.g. \"X-Tensor-Shape: 1,1,8,8\"")
            }
            let shape = try Self.parseShapeHeader(header)
            tensor = try Self.decodeRawFP32(request.body, shape: shape, maxElements: maxElements)
        case .npy:
            tensor = try decodeNpy(request.body)
        }
        options.input = tensor
        return options
    }

    /// The query-string part of a binary request, with an empty placeholder input.
    static func queryOptions(_ query: [String: String]) throws(RequestError) -> InferRequest {
        for key in query.keys where !knownQueryKeys.contains(key) {
            throw .badRequest("unknown query parameter \"\(key)\"; expected one of \(knownQueryKeys.joined(separator: ", "))")
        }
        guard let model = query["model"], !model.isEmpty else {
            throw .badRequest("binary bodies need the model in the query, e.g. /infer?model=dy-digits")
        }
        var request = InferRequest(model: model, input: Tensor(shape: [0], data: []))
        if let t = query["temperature"] {
            guard let d = Double(t) else { throw .badRequest("query temperature \"\(t)\" is not a number") }
            request.temperature = try InferOptionParsing.temperature(d, field: "query temperature")
        }
        if let t = query["trace"] {
            request.trace = try InferOptionParsing.trace(t, field: "query trace")
        }
        if let r = query["return_trace"] {
            switch r {
            case "true", "1": request.returnTrace = true
            case "false", "0": request.returnTrace = false
            default: throw .badRequest("query return_trace must be true or false, got \"\(r)\"")
            }
        }
        if let k = query["top_k"] {
            guard let d = Double(k) else { throw .badRequest("query top_k \"\(k)\" is not a number") }
            request.topK = try InferOptionParsing.topK(d, field: "query top_k")
        }
        return request
    }

    /// Parses "1,1,8,8" (spaces allowed around commas). Each dimension is decimal digits only.
    static func parseShapeHeader(_ text: String) throws(RequestError) -> [Int] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count <= maxRank else {
            throw .badRequest("X-Tensor-Shape has \(parts.count) dimensions; the limit is \(maxRank)")
        }
        var shape: [Int] = []
        for (i, raw) in parts.enumerated() {
            let part = raw.strippingBlanks()
            guard !part.isEmpty, part.utf8.allSatisfy({ JSONReader.isDigit($0) }) else {
                throw .badRequest("X-Tensor-Shape \"\(text)\": dimension \(i) \"\(part)\" is not a non-negative integer")
            }
            // 18 digits always fit in an Int64; a longer number is far past any element limit.
            let digits = part.drop { $0 == "0" }
            guard digits.count <= 18, let value = Int(part) else {
                throw .payloadTooLarge("X-Tensor-Shape \"\(text)\": dimension \(i) is \(part), larger than any "
                                       + "tensor the server accepts")
            }
            shape.append(value)
        }
        return shape
    }

    static func decodeRawFP32(_ body: [UInt8], shape: [Int], maxElements: Int) throws(RequestError) -> Tensor {
        let count = try TensorJSONDecoder.elementCount(of: shape, field: "X-Tensor-Shape", maxElements: maxElements)
        guard body.count == count * 4 else {
            throw .badRequest("X-Tensor-Shape \(shape) needs \(count * 4) bytes of FP32; the body has \(body.count)")
        }
        // Little-endian FP32 is the host's layout: one copying pass, then one pass without branches
        // that counts values with an all-ones exponent (infinity or NaN); the element is located only
        // when there is one.
        let data = [Float](unsafeUninitializedCapacity: count) { floats, initialized in
            body.withUnsafeBytes { raw in
                for i in 0..<count {
                    floats[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                }
            }
            initialized = count
        }
        let exponent: UInt32 = 0x7f80_0000
        let nonFinite = data.withUnsafeBufferPointer { floats in
            floats.reduce(0) { $0 &+ ($1.bitPattern & exponent == exponent ? 1 : 0) }
        }
        if nonFinite > 0, let i = data.firstIndex(where: { !$0.isFinite }) {
            throw .badRequest("input element \(i) (byte offset \(4 * i)) is \(data[i]); values must be finite")
        }
        return Tensor(shape: shape, data: data)
    }

    func decodeNpy(_ body: [UInt8]) throws(RequestError) -> Tensor {
        // The limit is checked on the header, before any conversion allocates the floats.
        if let announced = try? Npy.announcedElementCount(body), announced > maxElements {
            throw .payloadTooLarge("the .npy tensor has \(announced) elements, more than the limit of \(maxElements)")
        }
        let tensor: Tensor
        do {
            tensor = try readNpy(body)
        } catch {
            throw .badRequest("invalid .npy body: \(error)")
        }
        guard tensor.count <= maxElements else {
            throw .payloadTooLarge("the .npy tensor \(tensor.shape) has more than the limit of \(maxElements) elements")
        }
        if let i = tensor.data.firstIndex(where: { !$0.isFinite }) {
            throw .badRequest("input element \(i) of the .npy tensor is \(tensor.data[i]); values must be finite")
        }
        return tensor
    }
}
