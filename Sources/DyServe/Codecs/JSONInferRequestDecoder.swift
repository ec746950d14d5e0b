import DyNN

/// Decodes a JSON `POST /infer` body:
/// `{"model", "input" | "inputs", "temperature"?, "trace"?, "return_trace"?, "top_k"?, "timeout"?}`
/// (`timeout` in milliseconds, like the `timeout` query parameter). `inputs` is an object from
/// input name to tensor, for models with several inputs.
///
/// Unknown fields are errors, so a misspelt option is never silently ignored.
struct JSONInferRequestDecoder {
    var maxDepth: Int
    var maxElements: Int

    static let knownFields = ["model", "input", "inputs", "temperature", "trace", "return_trace", "top_k", "timeout"]

    func decode(_ body: [UInt8]) throws(RequestError) -> InferRequest {
        var reader = JSONReader(bytes: body, maxDepth: maxDepth)
        do {
            return try decodeObject(&reader)
        } catch let e as JSONSyntaxError {
            throw .badRequest(e.description)
        } catch let e as RequestError {
            throw e
        } catch {
            throw .internalError("unexpected error decoding the request: \(error)")
        }
    }

    private func decodeObject(_ reader: inout JSONReader) throws -> InferRequest {
        guard reader.peek() == UInt8(ascii: "{") else {
            if reader.isAtEnd { throw RequestError.badRequest("the body is empty; expected a JSON object") }
            let found = try reader.readValue(depth: 0)
            throw RequestError.badRequest("the body is \(found.kindName); expected a JSON object")
        }
        try reader.checkDepth(1)
        try reader.expect(UInt8(ascii: "{"))
        var seen: Set<String> = []
        var model: String?
        var input: Tensor?
        var namedInputs: [(name: String, tensor: Tensor)]?
        var temperature: Float?
        var trace: TraceLevel?
        var returnTrace: Bool?
        var topK: Int?
        var timeout: UInt64?
        if !reader.consume(UInt8(ascii: "}")) {
            repeat {
                let key = try reader.readString()
                try reader.expect(UInt8(ascii: ":"))
                guard Self.knownFields.contains(key) else {
                    throw RequestError.badRequest("unknown field \"\(key)\"; expected one of \(Self.knownFields.joined(separator: ", "))")
                }
                guard seen.insert(key).inserted else {
                    throw RequestError.badRequest("field \"\(key)\" appears twice")
                }
                if key == "input" {
                    input = try TensorJSONDecoder(maxElements: maxElements).decode(from: &reader, depth: 1)
                    continue
                }
                if key == "inputs" {
                    namedInputs = try decodeNamedInputs(&reader)
                    continue
                }
                let value = try reader.readValue(depth: 1)
                switch (key, value) {
                case ("model", .string(let s)):
                    model = s
                case ("temperature", .number(let d)):
                    temperature = try InferOptionParsing.temperature(d, field: "temperature")
                case ("trace", .string(let s)):
                    trace = try InferOptionParsing.trace(s, field: "trace")
                case ("return_trace", .bool(let b)):
                    returnTrace = b
                case ("top_k", .number(let d)):
                    topK = try InferOptionParsing.topK(d, field: "top_k")
                case ("timeout", .number(let d)):
                    timeout = try RequestTimeout.milliseconds(json: d, field: "timeout")
                default:
                    let expected = switch key {
                    case "model", "trace": "a string"
                    case "return_trace": "a boolean"
                    case "timeout": "a whole number of milliseconds"
                    default: "a number"
                    }
                    throw RequestError.badRequest("\(key) is \(value.kindName); expected \(expected)")
                }
            } while reader.consume(UInt8(ascii: ","))
            try reader.expect(UInt8(ascii: "}"))
        }
        try reader.expectEnd()
        guard let model else { throw RequestError.badRequest("model is missing") }
        switch (input, namedInputs) {
        case (nil, nil): throw RequestError.badRequest("input is missing")
        case (.some, .some): throw RequestError.badRequest("send input (one tensor) or inputs (tensors by name), not both")
        default: break
        }
        var request = InferRequest(model: model, input: input, namedInputs: namedInputs)
        request.temperature = temperature
        if let trace { request.trace = trace }
        if let returnTrace { request.returnTrace = returnTrace }
        request.topK = topK
        request.timeout = timeout
        return request
    }

    /// `{"name": tensor, ...}`: at least one, no name twice.
    private func decodeNamedInputs(_ reader: inout JSONReader) throws -> [(name: String, tensor: Tensor)] {
        guard reader.peek() == UInt8(ascii: "{") else {
            let found = try reader.readValue(depth: 1)
            throw RequestError.badRequest("inputs is \(found.kindName); expected an object from input name to tensor")
        }
        try reader.checkDepth(2)
        try reader.expect(UInt8(ascii: "{"))
        var inputs: [(name: String, tensor: Tensor)] = []
        if !reader.consume(UInt8(ascii: "}")) {
            repeat {
                let name = try reader.readString()
                try reader.expect(UInt8(ascii: ":"))
                guard !inputs.contains(where: { $0.name == name }) else {
                    throw RequestError.badRequest("input \"\(name)\" appears twice in inputs")
                }
                inputs.append((name, try TensorJSONDecoder(maxElements: maxElements, field: "inputs.\(name)").decode(from: &reader, depth: 2)))
            } while reader.consume(UInt8(ascii: ","))
            try reader.expect(UInt8(ascii: "}"))
        }
        guard !inputs.isEmpty else { throw RequestError.badRequest("inputs is empty; name every input of the model") }
        return inputs
    }
}
