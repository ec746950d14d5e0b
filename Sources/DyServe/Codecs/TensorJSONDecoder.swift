import DyNN

/// Reads a request's `input` straight from the JSON bytes into a `Tensor`.
///
/// Two forms: a nested array of numbers (`[[[[0, 1, ...]]]]`, shape inferred, must be
/// rectangular), or `{"shape": [...], "data": [...flat...]}` with an optional `"datatype": "FP32"`.
/// Every value must be a finite FP32 number; the element count is capped while reading, so a huge
/// body is rejected before its floats are all stored. Errors name the field and the index path.
struct TensorJSONDecoder {
    /// Highest element count accepted.
    var maxElements: Int
    /// Name used in messages ("input").
    var field: String = "input"

    /// Reads the tensor value at the reader's position. `depth` is the nesting depth of the
    /// container holding it (1 for a member of the top-level object).
    func decode(from reader: inout JSONReader, depth: Int) throws(RequestError) -> Tensor {
        do {
            switch reader.peek() {
            case UInt8(ascii: "["):
                return try decodeNested(from: &reader, depth: depth)
            case UInt8(ascii: "{"):
                return try decodeShapeAndData(from: &reader, depth: depth)
            case nil:
                throw RequestError.badRequest("\(field): unexpected end of body")
            default:
                let found = try reader.readValue(depth: depth)
                throw RequestError.badRequest(
                    "\(field) is \(found.kindName); expected a nested array of numbers or {\"shape\": [...], \"data\": [...]}")
            }
        } catch let e as JSONSyntaxError {
            throw .badRequest(e.description)
        } catch let e as RequestError {
            throw e
        } catch {
            throw .internalError("unexpected error decoding \(field): \(error)")
        }
    }

    // MARK: nested arrays

    /// State of a nested-array read: the shape found so far and the values.
    private struct NestedState {
        /// Length of the arrays at each level, fixed by the first array completed at that level.
        var dims: [Int?] = []
        /// The level whose arrays hold numbers, fixed by the first number or empty array.
        var leafLevel: Int?
        var data: [Float] = []
        /// Index path of the element being read, for messages.
        var path: [Int] = []
    }

    private func decodeNested(from reader: inout JSONReader, depth: Int) throws -> Tensor {
        var state = NestedState()
        try readLevel(&reader, level: 0, depth: depth + 1, state: &state)
        let shape = state.dims.map { $0 ?? 0 }
        // Rectangularity was enforced level by level, so this holds; checked anyway because
        // Tensor.init traps on a mismatch and no input may crash the process.
        guard (try? Self.elementCount(of: shape, field: field, maxElements: maxElements)) == state.data.count else {
            throw RequestError.internalError("\(field): inferred shape \(shape) does not match \(state.data.count) values")
        }
        return Tensor(shape: shape, data: state.data)
    }

    private func location(_ path: [Int]) -> String {
        field + path.map { "[\($0)]" }.joined()
    }

    /// Reads one array at `level`; `depth` is its JSON nesting depth.
    private func readLevel(_ reader: inout JSONReader, level: Int, depth: Int, state: inout NestedState) throws {
        try reader.checkDepth(depth)
        try reader.expect(UInt8(ascii: "["))
        if state.dims.count <= level { state.dims.append(nil) }
        var count = 0
        if !reader.consume(UInt8(ascii: "]")) {
            repeat {
                state.path.append(count)
                let next = reader.peek()
                if next == UInt8(ascii: "[") {
                    if let leaf = state.leafLevel, leaf <= level {
                        throw RequestError.badRequest("\(location(state.path)) is an array; expected a number (the array is not rectangular)")
                    }
                    try readLevel(&reader, level: level + 1, depth: depth + 1, state: &state)
                } else {
                    if let leaf = state.leafLevel, leaf != level {
                        let found = try reader.readValue(depth: depth)
                        throw RequestError.badRequest("\(location(state.path)) is \(found.kindName); expected an array (the array is not rectangular)")
                    }
                    state.leafLevel = level
                    try readNumber(&reader, depth: depth, state: &state)
                }
                state.path.removeLast()
                count += 1
            } while reader.consume(UInt8(ascii: ","))
            try reader.expect(UInt8(ascii: "]"))
        } else if state.leafLevel == nil {
            state.leafLevel = level
        } else if let leaf = state.leafLevel, leaf != level {
            throw RequestError.badRequest("\(location(state.path)) is an empty array; expected arrays nested \(leaf) deep (the array is not rectangular)")
        }
        if let expected = state.dims[level] {
            guard expected == count else {
                throw RequestError.badRequest("\(location(state.path)) has \(count) elements; expected \(expected) like the first array at this level (the array is not rectangular)")
            }
        } else {
            state.dims[level] = count
        }
    }

    private func readNumber(_ reader: inout JSONReader, depth: Int, state: inout NestedState) throws {
        guard let b = reader.peek(), b == UInt8(ascii: "-") || JSONReader.isDigit(b) else {
            let found = try reader.readValue(depth: depth)
            throw RequestError.badRequest("\(location(state.path)) is \(found.kindName); expected a number")
        }
        let value = try reader.readNumber()
        state.data.append(try finiteFloat(value, at: location(state.path)))
        if state.data.count > maxElements {
            throw RequestError.payloadTooLarge("\(field) has more than the limit of \(maxElements) elements")
        }
    }

    /// `place` is only built when the value is rejected: formatting it per element would cost
    /// more than parsing the number.
    private func finiteFloat(_ value: Double, at place: @autoclosure () -> String) throws(RequestError) -> Float {
        let f = Float(value)
        guard f.isFinite else {
            throw .badRequest("\(place()): \(value) is not a finite FP32 number")
        }
        return f
    }

    // MARK: {"shape", "data"}

    private func decodeShapeAndData(from reader: inout JSONReader, depth: Int) throws -> Tensor {
        try reader.checkDepth(depth + 1)
        try reader.expect(UInt8(ascii: "{"))
        var shape: [Int]?
        var data: [Float]?
        if !reader.consume(UInt8(ascii: "}")) {
            repeat {
                let key = try reader.readString()
                try reader.expect(UInt8(ascii: ":"))
                switch key {
                case "shape":
                    guard shape == nil else { throw RequestError.badRequest("\(field).shape appears twice") }
                    shape = try readShape(&reader, depth: depth + 1)
                case "data":
                    guard data == nil else { throw RequestError.badRequest("\(field).data appears twice") }
                    data = try readFlatData(&reader, depth: depth + 1)
                case "datatype":
                    let value = try reader.readValue(depth: depth + 1)
                    guard value == .string("FP32") else {
                        throw RequestError.badRequest("\(field).datatype must be \"FP32\"")
                    }
                default:
                    throw RequestError.badRequest("\(field) has an unknown field \"\(key)\"; expected shape, data, datatype")
                }
            } while reader.consume(UInt8(ascii: ","))
            try reader.expect(UInt8(ascii: "}"))
        }
        guard let shape else { throw RequestError.badRequest("\(field).shape is missing") }
        guard let data else { throw RequestError.badRequest("\(field).data is missing") }
        let needed = try Self.elementCount(of: shape, field: "\(field).shape", maxElements: maxElements)
        guard needed == data.count else {
            throw RequestError.badRequest("\(field).shape \(shape) needs \(needed) values; \(field).data has \(data.count)")
        }
        return Tensor(shape: shape, data: data)
    }

    private func readShape(_ reader: inout JSONReader, depth: Int) throws -> [Int] {
        let value = try reader.readValue(depth: depth)
        guard case .array(let items) = value else {
            throw RequestError.badRequest("\(field).shape is \(value.kindName); expected an array of integers")
        }
        return try items.enumerated().map { (i, item) throws -> Int in
            guard case .number(let d) = item else {
                throw RequestError.badRequest("\(field).shape[\(i)] is \(item.kindName); expected an integer")
            }
            guard d == d.rounded(), d >= 0 else {
                throw RequestError.badRequest("\(field).shape[\(i)] is \(d); expected a non-negative integer")
            }
            // Any single dimension above the element limit is rejected before it can overflow an Int.
            // (The second bound matters when the limit is near Int.max, where Double rounds up.)
            guard d <= Double(maxElements), d < 0x1p62 else {
                throw RequestError.payloadTooLarge("\(field).shape[\(i)] = \(d) exceeds the limit of \(maxElements) elements")
            }
            return Int(d)
        }
    }

    private func readFlatData(_ reader: inout JSONReader, depth: Int) throws -> [Float] {
        try reader.checkDepth(depth + 1)
        guard reader.peek() == UInt8(ascii: "[") else {
            let found = try reader.readValue(depth: depth)
            throw RequestError.badRequest("\(field).data is \(found.kindName); expected a flat array of numbers")
        }
        try reader.expect(UInt8(ascii: "["))
        var data: [Float] = []
        if reader.consume(UInt8(ascii: "]")) { return data }
        repeat {
            guard let b = reader.peek(), b == UInt8(ascii: "-") || JSONReader.isDigit(b) else {
                let found = try reader.readValue(depth: depth + 1)
                throw RequestError.badRequest("\(field).data[\(data.count)] is \(found.kindName); expected a number")
            }
            data.append(try finiteFloat(try reader.readNumber(), at: "\(field).data[\(data.count)]"))
            if data.count > maxElements {
                throw RequestError.payloadTooLarge("\(field).data has more than the limit of \(maxElements) elements")
            }
        } while reader.consume(UInt8(ascii: ","))
        try reader.expect(UInt8(ascii: "]"))
        return data
    }

    /// The product of `shape`, or a 413 when it exceeds `maxElements` (checked at every step, so a
    /// shape like [2^62, 2^62] cannot overflow).
    static func elementCount(of shape: [Int], field: String, maxElements: Int) throws(RequestError) -> Int {
        var count = 1
        for d in shape {
            guard d >= 0 else { throw .badRequest("\(field) \(shape) has a negative dimension") }
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, product <= maxElements else {
                throw .payloadTooLarge("\(field) \(shape) has more than the limit of \(maxElements) elements")
            }
            count = product
        }
        return count
    }
}
