import DyNN

/// Reads the JSON header of a V2 inference request with the service's `JSONReader` (depth-bounded,
/// numbers read straight off the bytes):
/// `{"id"?, "model_name"?, "model_version"?, "parameters"?, "inputs": [{"name", "shape", "datatype", "parameters"?, "data"?}],
///   "outputs"?: [{"name", "parameters"?}]}`.
///
/// Unknown top-level and tensor fields are errors (a misspelt field is never silently ignored);
/// unknown *parameters* are ignored, since parameters are the protocol's extension point
/// (`priority`, `sequence_id`, ... mean nothing to this server but are valid to send). The request
/// parameter `timeout` is read, in microseconds as Triton defines it (see `RequestTimeout`).
struct V2InferHeaderDecoder {
    var maxDepth: Int
    var maxElements: Int
    /// False when the request had no `Inference-Header-Content-Length`, so the JSON was taken to
    /// be the whole body: then bytes after it, or a body that is not JSON at all, are most likely
    /// binary tensor data sent without that header, and the error says so.
    var headerLengthGiven = true

    func decode(_ bytes: ArraySlice<UInt8>) throws(RequestError) -> V2InferHeader {
        var reader = JSONReader(bytes: Array(bytes), maxDepth: maxDepth)
        do {
            return try decodeObject(&reader)
        } catch let e as JSONSyntaxError {
            throw .badRequest("inference header: " + e.description)
        } catch let e as RequestError {
            throw e
        } catch {
            throw .internalError("unexpected error decoding the inference header: \(error)")
        }
    }

    private func decodeObject(_ reader: inout JSONReader) throws -> V2InferHeader {
        guard reader.peek() == UInt8(ascii: "{") else {
            if reader.isAtEnd { throw RequestError.badRequest("the inference header is empty; expected a JSON object") }
            if !headerLengthGiven, let b = reader.peek(), !Self.mayStartJSON(b) {
                throw RequestError.badRequest("the body is not JSON and the Inference-Header-Content-Length header is missing; "
                    + "a binary body needs it (the JSON header's length, or 0 for a raw input tensor)")
            }
            let found = try reader.readValue(depth: 0)
            throw RequestError.badRequest("the inference header is \(found.kindName); expected a JSON object")
        }
        var header = V2InferHeader()
        var sawInputs = false
        try readMembers(&reader, depth: 1, place: "the request") { key, reader in
            switch key {
            case "id":
                let value = try reader.readValue(depth: 1)
                guard case .string(let s) = value else {
                    throw RequestError.badRequest("id is \(value.kindName); expected a string")
                }
                header.id = s
            case "model_name", "model_version":
                let value = try reader.readValue(depth: 1)
                guard case .string(let s) = value else {
                    throw RequestError.badRequest("\(key) is \(value.kindName); expected a string")
                }
                if key == "model_name" { header.modelName = s } else { header.modelVersion = s }
            case "parameters":
                try readRequestParameters(try reader.readValue(depth: 1), into: &header)
            case "inputs":
                sawInputs = true
                header.inputs = try readArray(&reader, depth: 1, place: "inputs") { i, reader in
                    try readInput(&reader, index: i)
                }
            case "outputs":
                header.outputs = try readArray(&reader, depth: 1, place: "outputs") { i, reader in
                    try readOutput(try reader.readValue(depth: 2), index: i)
                }
            default:
                throw RequestError.badRequest("unknown field \"\(key)\" in the request; expected id, model_name, model_version, parameters, inputs, outputs")
            }
        }
        if !headerLengthGiven, reader.peek() != nil {
            throw RequestError.badRequest("the body goes on after its JSON header and the Inference-Header-Content-Length header is missing; "
                + "binary tensor data needs that header to give the JSON header's length")
        }
        try reader.expectEnd()
        guard sawInputs else { throw RequestError.badRequest("inputs is missing") }
        return header
    }

    /// Whether `byte` can begin a JSON value (so a body starting otherwise is not JSON).
    static func mayStartJSON(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: "\""), UInt8(ascii: "-"),
             UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            return true
        default:
            return JSONReader.isDigit(byte)
        }
    }

    // MARK: members and arrays

    /// Reads an object's members, rejecting duplicates; `depth` is the object's own depth.
    private func readMembers(_ reader: inout JSONReader, depth: Int, place: String,
                             _ member: (String, inout JSONReader) throws -> Void) throws {
        try reader.checkDepth(depth)
        try reader.expect(UInt8(ascii: "{"))
        var seen: Set<String> = []
        if reader.consume(UInt8(ascii: "}")) { return }
        repeat {
            let key = try reader.readString()
            try reader.expect(UInt8(ascii: ":"))
            guard seen.insert(key).inserted else {
                throw RequestError.badRequest("field \"\(key)\" appears twice in \(place)")
            }
            try member(key, &reader)
        } while reader.consume(UInt8(ascii: ","))
        try reader.expect(UInt8(ascii: "}"))
    }

    /// Reads an array whose elements `element` reads; `depth` is the depth of its container.
    private func readArray<T>(_ reader: inout JSONReader, depth: Int, place: String,
                              _ element: (Int, inout JSONReader) throws -> T) throws -> [T] {
        guard reader.peek() == UInt8(ascii: "[") else {
            let found = try reader.readValue(depth: depth)
            throw RequestError.badRequest("\(place) is \(found.kindName); expected an array")
        }
        try reader.checkDepth(depth + 1)
        try reader.expect(UInt8(ascii: "["))
        var items: [T] = []
        if reader.consume(UInt8(ascii: "]")) { return items }
        repeat {
            items.append(try element(items.count, &reader))
        } while reader.consume(UInt8(ascii: ","))
        try reader.expect(UInt8(ascii: "]"))
        return items
    }

    // MARK: inputs

    private func readInput(_ reader: inout JSONReader, index: Int) throws -> V2InputHeader {
        let place = "inputs[\(index)]"
        guard reader.peek() == UInt8(ascii: "{") else {
            let found = try reader.readValue(depth: 2)
            throw RequestError.badRequest("\(place) is \(found.kindName); expected an object")
        }
        var name: String?
        var shape: [Int]?
        var datatype: V2Datatype?
        var data: [Double]?
        var dataDims: [Int]?
        var binarySize: Int?
        try readMembers(&reader, depth: 3, place: place) { key, reader in
            switch key {
            case "name":
                let value = try reader.readValue(depth: 3)
                guard case .string(let s) = value else {
                    throw RequestError.badRequest("\(place).name is \(value.kindName); expected a string")
                }
                name = s
            case "shape":
                shape = try readShape(try reader.readValue(depth: 3), place: "\(place).shape")
            case "datatype":
                let value = try reader.readValue(depth: 3)
                guard case .string(let s) = value else {
                    throw RequestError.badRequest("\(place).datatype is \(value.kindName); expected a string")
                }
                guard let d = V2Datatype(rawValue: s) else {
                    throw RequestError.badRequest("\(place).datatype \"\(s)\" is not a V2 datatype; expected one of "
                        + V2Datatype.allCases.map(\.rawValue).joined(separator: ", "))
                }
                datatype = d
            case "parameters":
                let value = try reader.readValue(depth: 3)
                binarySize = try readInputParameters(value, place: "\(place).parameters")
            case "data":
                // Name the real problem (the datatype) rather than the first non-number value.
                if let datatype, let name { try datatype.checkConvertible(input: name) }
                var values: [Double] = []
                var nesting = NestedDataShape()
                try readData(&reader, depth: 4, level: 0, place: "\(place).data", path: "", into: &values, nesting: &nesting)
                data = values
                dataDims = nesting.dims
            default:
                throw RequestError.badRequest("unknown field \"\(key)\" in \(place); expected name, shape, datatype, parameters, data")
            }
        }
        guard let name else { throw RequestError.badRequest("\(place).name is missing") }
        let named = "input \"\(name)\""
        guard let shape else { throw RequestError.badRequest("\(named): shape is missing") }
        guard let datatype else { throw RequestError.badRequest("\(named): datatype is missing") }
        switch (data, binarySize) {
        case (nil, nil):
            throw RequestError.badRequest("\(named) has neither data nor parameters.binary_data_size")
        case (.some, .some):
            throw RequestError.badRequest("\(named) has both data and parameters.binary_data_size; send one")
        default:
            break
        }
        return V2InputHeader(name: name, shape: shape, datatype: datatype, data: data, dataDims: dataDims,
                             binaryDataSize: binarySize)
    }

    private func readShape(_ value: ParsedJSON, place: String) throws(RequestError) -> [Int] {
        guard case .array(let items) = value else {
            throw .badRequest("\(place) is \(value.kindName); expected an array of integers")
        }
        var shape: [Int] = []
        for (i, item) in items.enumerated() {
            guard case .number(let d) = item, d == d.rounded(), d >= 0 else {
                throw .badRequest("\(place)[\(i)] must be a non-negative integer")
            }
            // Keeps Int(d) from trapping; the element limit is checked on the whole shape later,
            // after a binary input's shape x datatype has been checked against its byte count.
            guard d < 0x1p62 else {
                throw .badRequest("\(place)[\(i)] = \(d) is too large")
            }
            shape.append(Int(d))
        }
        return shape
    }

    /// Reads `data`, nested or flat, into `values` in row-major order, checking through `nesting`
    /// that nested arrays are rectangular. Element count is capped while reading; nesting is
    /// bounded by the reader's depth limit. `level` counts the arrays around the value.
    private func readData(_ reader: inout JSONReader, depth: Int, level: Int, place: String, path: String,
                          into values: inout [Double], nesting: inout NestedDataShape) throws {
        switch reader.peek() {
        case UInt8(ascii: "["):
            try reader.checkDepth(depth)
            try reader.expect(UInt8(ascii: "["))
            var i = 0
            if !reader.consume(UInt8(ascii: "]")) {
                repeat {
                    try readData(&reader, depth: depth + 1, level: level + 1, place: place, path: path + "[\(i)]",
                                 into: &values, nesting: &nesting)
                    i += 1
                } while reader.consume(UInt8(ascii: ","))
                try reader.expect(UInt8(ascii: "]"))
            }
            try nesting.array(level: level, count: i, place: place, path: path)
        case let b? where b == UInt8(ascii: "-") || JSONReader.isDigit(b):
            try nesting.number(level: level, place: place, path: path)
            values.append(try reader.readNumber())
            if values.count > maxElements {
                throw RequestError.payloadTooLarge("\(place) has more than the limit of \(maxElements) elements")
            }
        case nil:
            throw RequestError.badRequest("\(place)\(path): unexpected end of the header")
        default:
            let found = try reader.readValue(depth: depth)
            throw RequestError.badRequest("\(place)\(path) is \(found.kindName); expected a number (BYTES and BOOL inputs are not accepted)")
        }
    }

    // MARK: parameters and outputs

    private func readRequestParameters(_ value: ParsedJSON, into header: inout V2InferHeader) throws(RequestError) {
        guard case .object(let members) = value else {
            throw .badRequest("parameters is \(value.kindName); expected an object")
        }
        for (key, v) in members {
            switch (key, v) {
            case ("binary_data_output", .bool(let b)):
                header.binaryDataOutput = b
            case ("trace", .string(let s)):
                header.trace = try InferOptionParsing.trace(s, field: "parameters.trace")
            case ("temperature", .number(let d)):
                header.temperature = try InferOptionParsing.temperature(d, field: "parameters.temperature")
            case ("timeout", .number(let d)):
                header.timeout = try RequestTimeout.microseconds(json: d, field: "parameters.timeout")
            case ("binary_data_output", _):
                throw .badRequest("parameters.binary_data_output is \(v.kindName); expected a boolean")
            case ("trace", _):
                throw .badRequest("parameters.trace is \(v.kindName); expected \"attention\", \"full\" or \"none\"")
            case ("temperature", _):
                throw .badRequest("parameters.temperature is \(v.kindName); expected a number")
            case ("timeout", _):
                throw .badRequest("parameters.timeout is \(v.kindName); expected a whole number of microseconds")
            default:
                continue
            }
        }
    }

    private func readInputParameters(_ value: ParsedJSON, place: String) throws(RequestError) -> Int? {
        guard case .object(let members) = value else {
            throw .badRequest("\(place) is \(value.kindName); expected an object")
        }
        var size: Int?
        for (key, v) in members where key == "binary_data_size" {
            guard case .number(let d) = v, d == d.rounded(), d >= 0, d < 0x1p62 else {
                throw .badRequest("\(place).binary_data_size must be a non-negative integer, got \(v)")
            }
            size = Int(d)
        }
        return size
    }

    private func readOutput(_ value: ParsedJSON, index: Int) throws(RequestError) -> V2RequestedOutput {
        let place = "outputs[\(index)]"
        guard case .object(let members) = value else {
            throw .badRequest("\(place) is \(value.kindName); expected an object")
        }
        var name: String?
        var binary: Bool?
        var classification: Int?
        for (key, v) in members {
            switch (key, v) {
            case ("name", .string(let s)):
                name = s
            case ("parameters", .object(let parameters)):
                for (pk, pv) in parameters {
                    switch (pk, pv) {
                    case ("binary_data", .bool(let b)):
                        binary = b
                    case ("binary_data", _):
                        throw .badRequest("\(place).parameters.binary_data is \(pv.kindName); expected a boolean")
                    case ("classification", .number(let d)) where d == d.rounded() && d >= 1 && d < 0x1p31:
                        classification = Int(d)
                    case ("classification", _):
                        throw .badRequest("\(place).parameters.classification must be a positive integer, got \(pv.kindName)")
                    default:
                        continue
                    }
                }
            case ("name", _), ("parameters", _):
                throw .badRequest("\(place).\(key) is \(v.kindName); expected \(key == "name" ? "a string" : "an object")")
            default:
                throw .badRequest("unknown field \"\(key)\" in \(place); expected name, parameters")
            }
        }
        guard let name else { throw .badRequest("\(place).name is missing") }
        return V2RequestedOutput(name: name, binary: binary, classification: classification)
    }
}
