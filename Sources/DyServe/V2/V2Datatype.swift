/// The Open Inference Protocol's tensor datatypes, and how each becomes the FP32 the engine runs.
///
/// A value is converted only when FP32 holds it well: integers must be exactly representable
/// (|v| <= 2^24, or a multiple of a power of two that FP32 stores exactly); FP64 must be finite and
/// within FP32's range (it is rounded to the nearest FP32, the precision FP32 models have anyway);
/// FP16 and BF16 are subsets of FP32 and always exact. BOOL and BYTES are not numbers a CNN reads.
enum V2Datatype: String, Sendable, CaseIterable {
    case bool = "BOOL"
    case uint8 = "UINT8", uint16 = "UINT16", uint32 = "UINT32", uint64 = "UINT64"
    case int8 = "INT8", int16 = "INT16", int32 = "INT32", int64 = "INT64"
    case fp16 = "FP16", bf16 = "BF16", fp32 = "FP32", fp64 = "FP64"
    case bytes = "BYTES"

    /// Bytes per element in the binary extension; nil for BYTES (length-prefixed, variable).
    var byteSize: Int? {
        switch self {
        case .bool, .uint8, .int8: 1
        case .uint16, .int16, .fp16, .bf16: 2
        case .uint32, .int32, .fp32: 4
        case .uint64, .int64, .fp64: 8
        case .bytes: nil
        }
    }

    var isInteger: Bool {
        switch self {
        case .uint8, .uint16, .uint32, .uint64, .int8, .int16, .int32, .int64: true
        default: false
        }
    }

    /// Throws unless tensors of this type can feed an FP32 input.
    func checkConvertible(input: String) throws(RequestError) {
        switch self {
        case .bytes:
            throw .badRequest("input \"\(input)\": datatype BYTES is not accepted for tensor inputs; send numbers as FP32")
        case .bool:
            throw .badRequest("input \"\(input)\": datatype BOOL cannot feed an FP32 input; send FP32")
        default:
            return
        }
    }

    /// Converts one JSON number given for this datatype. `place` names the element in messages.
    func float(fromJSON value: Double, place: @autoclosure () -> String) throws(RequestError) -> Float {
        if isInteger {
            guard value == value.rounded() else {
                throw .badRequest("\(place()): \(value) is not an integer, as datatype \(rawValue) requires")
            }
            guard let range = integerRange, value >= range.lowerBound, value <= range.upperBound else {
                throw .badRequest("\(place()): \(value) is out of the range of \(rawValue)")
            }
            // Above 2^53 the JSON number already lost digits in parsing, so exactness cannot be shown.
            guard abs(value) < 0x1p53 else {
                throw .badRequest("\(place()): \(rawValue) value \(value) is too large to convert to FP32 exactly")
            }
            return try exactFloat(value, place: place())
        }
        // A JSON number sent as FP16 must be one: beyond FP16's largest finite value it would be
        // infinity in the client's own tensor.
        if self == .fp16 && value.isFinite && abs(value) > Double(Self.fp16Max) {
            throw .badRequest("\(place()): \(value) is outside the FP16 range (largest finite magnitude \(Self.fp16Max))")
        }
        return try finiteFloat(value, place: place())
    }

    /// The largest finite FP16 value.
    static let fp16Max: Float = 65504

    /// Converts the little-endian element at `offset` of `bytes` (the caller has checked bounds).
    func float(fromBinary bytes: UnsafeRawBufferPointer, at offset: Int,
               place: @autoclosure () -> String) throws(RequestError) -> Float {
        func load<T: FixedWidthInteger>(_: T.Type) -> T {
            T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        }
        switch self {
        case .fp32:
            let f = Float(bitPattern: load(UInt32.self))
            guard f.isFinite else { throw .badRequest("\(place()): \(f) is not a finite FP32 number") }
            return f
        case .fp64:
            return try finiteFloat(Double(bitPattern: load(UInt64.self)), place: place())
        case .fp16:
            let f = Self.halfToFloat(load(UInt16.self))
            guard f.isFinite else { throw .badRequest("\(place()): \(f) is not a finite FP16 number") }
            return f
        case .bf16:
            let f = Float(bitPattern: UInt32(load(UInt16.self)) << 16)
            guard f.isFinite else { throw .badRequest("\(place()): \(f) is not a finite BF16 number") }
            return f
        case .int8: return Float(load(Int8.self))
        case .uint8: return Float(load(UInt8.self))
        case .int16: return Float(load(Int16.self))
        case .uint16: return Float(load(UInt16.self))
        case .int32: return try exactFloat(load(Int32.self), place: place())
        case .uint32: return try exactFloat(load(UInt32.self), place: place())
        case .int64: return try exactFloat(load(Int64.self), place: place())
        case .uint64: return try exactFloat(load(UInt64.self), place: place())
        case .bool, .bytes:
            throw .badRequest("\(place()): datatype \(rawValue) cannot feed an FP32 input")
        }
    }

    private var integerRange: ClosedRange<Double>? {
        switch self {
        case .int8: -128...127
        case .uint8: 0...255
        case .int16: -32768...32767
        case .uint16: 0...65535
        case .int32: -2147483648...2147483647
        case .uint32: 0...4294967295
        case .int64: -0x1p63...0x1p63
        case .uint64: 0...0x1p64
        default: nil
        }
    }

    private func exactFloat<T: BinaryInteger>(_ value: T, place: @autoclosure () -> String) throws(RequestError) -> Float {
        let f = Float(value)
        guard T(exactly: f) == value else {
            throw .badRequest("\(place()): \(rawValue) value \(value) is not exactly representable in FP32")
        }
        return f
    }

    private func exactFloat(_ value: Double, place: @autoclosure () -> String) throws(RequestError) -> Float {
        let f = Float(value)
        guard Double(f) == value else {
            throw .badRequest("\(place()): \(rawValue) value \(Int64(value)) is not exactly representable in FP32")
        }
        return f
    }

    private func finiteFloat(_ value: Double, place: @autoclosure () -> String) throws(RequestError) -> Float {
        let f = Float(value)
        guard value.isFinite, f.isFinite else {
            throw .badRequest("\(place()): \(value) is not a finite number within FP32's range (datatype \(rawValue))")
        }
        return f
    }

    /// IEEE 754 binary16 to binary32, exactly (subnormals, infinities and NaN included).
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h >> 15) << 31
        let exponent = Int((h >> 10) & 0x1F)
        let mantissa = UInt32(h & 0x3FF)
        switch exponent {
        case 0:
            // Zero or subnormal: mantissa x 2^-24.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        case 0x1F:
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        default:
            return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
        }
    }
}
