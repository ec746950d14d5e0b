/// NumPy `.npy` arrays: read any little-endian float or integer array as FP32, write `<f4`.
public enum Npy {
    private static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY

    /// How to turn one element of a supported dtype into a Float.
    private enum ElementKind {
        case float16, float32, float64, signed(Int), unsigned(Int), bool

        var size: Int {
            switch self {
            case .float16: return 2
            case .float32: return 4
            case .float64: return 8
            case .signed(let size), .unsigned(let size): return size
            case .bool: return 1
            }
        }

        /// Parses `<f4`, `|u1`, `=i8`, ... Byte order must be little-endian ('<'), native ('=',
        /// little on every platform we build for) or irrelevant ('|', one-byte types).
        init(descr: String) throws(NpyError) {
            let scalars = Array(descr.unicodeScalars)
            guard scalars.count >= 3, ["<", "|", "="].contains(scalars[0]),
                  let size = Int(String(String.UnicodeScalarView(scalars[2...]))) else {
                throw .unsupportedDtype(descr)
            }
            if scalars[0] == "|" && size != 1 { throw .unsupportedDtype(descr) }
            switch (scalars[1], size) {
            case ("f", 2): self = .float16
            case ("f", 4): self = .float32
            case ("f", 8): self = .float64
            case ("i", 1), ("i", 2), ("i", 4), ("i", 8): self = .signed(size)
            case ("u", 1), ("u", 2), ("u", 4), ("u", 8): self = .unsigned(size)
            case ("b", 1): self = .bool
            default: throw .unsupportedDtype(descr)
            }
        }

        func value(_ bytes: [UInt8], at offset: Int) -> Float {
            switch self {
            case .float16: return HalfPrecision.floatFromHalf(LittleEndian.uint16(bytes, at: offset))
            case .float32: return Float(bitPattern: LittleEndian.uint32(bytes, at: offset))
            case .float64: return Float(Double(bitPattern: LittleEndian.uint64(bytes, at: offset)))
            case .bool: return bytes[offset] == 0 ? 0 : 1
            case .unsigned(let size):
                var raw: UInt64 = 0
                for index in 0..<size { raw |= UInt64(bytes[offset + index]) << (8 * index) }
                return Float(raw)
            case .signed(let size):
                var raw: UInt64 = 0
                for index in 0..<size { raw |= UInt64(bytes[offset + index]) << (8 * index) }
                let shift = UInt64(64 - 8 * size)
                return Float(Int64(bitPattern: raw << shift) >> Int64(shift))  // sign-extend
            }
        }
    }

    public static func read(_ bytes: [UInt8]) throws(NpyError) -> Tensor {
        let (header, dataStart) = try parseHeader(bytes)
        if header.fortranOrder { throw .fortranOrder }
        let kind = try ElementKind(descr: header.descr)
        guard let count = checkedElementCount(header.shape) else { throw .badShape("\(header.shape) has more elements than fit in memory") }
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: kind.size)
        guard !overflow else { throw .badShape("\(header.shape) of '\(header.descr)' overflows the byte count") }
        let available = bytes.count - dataStart
        guard available == byteCount else { throw .dataSize(expected: byteCount, actual: available) }
        var values = [Float](repeating: 0, count: count)
        for index in 0..<count { values[index] = kind.value(bytes, at: dataStart + index * kind.size) }
        return Tensor(shape: header.shape, data: values)
    }

    /// The element count the header of `bytes` announces (nil when it overflows), read without
    /// touching the data: a server checks its element limit with this before `read` converts
    /// (a `|u1` array becomes four times its size in floats).
    public static func announcedElementCount(_ bytes: [UInt8]) throws(NpyError) -> Int? {
        checkedElementCount(try parseHeader(bytes).header.shape)
    }

    /// The header and the offset where the data starts.
    private static func parseHeader(_ bytes: [UInt8]) throws(NpyError) -> (header: NpyHeader, dataStart: Int) {
        guard bytes.count >= 8, Array(bytes[0..<6]) == magic else { throw .notNpy }
        let major = bytes[6], minor = bytes[7]
        let lengthFieldSize: Int
        switch (major, minor) {
        case (1, 0): lengthFieldSize = 2
        case (2, 0), (3, 0): lengthFieldSize = 4
        default: throw .unsupportedVersion(major: major, minor: minor)
        }
        guard bytes.count >= 8 + lengthFieldSize else { throw .truncatedHeader(needed: 8 + lengthFieldSize, available: bytes.count) }
        let headerLength = lengthFieldSize == 2 ? Int(LittleEndian.uint16(bytes, at: 8)) : Int(LittleEndian.uint32(bytes, at: 8))
        let headerStart = 8 + lengthFieldSize
        let dataStart = headerStart + headerLength
        guard dataStart <= bytes.count else { throw .truncatedHeader(needed: dataStart, available: bytes.count) }
        // Versions 1 and 2 promise latin-1 text, version 3 UTF-8; numpy only writes ASCII in practice.
        let headerBytes = bytes[headerStart..<dataStart]
        let text: String
        if major == 3 {
            guard let decoded = String(validating: headerBytes, as: UTF8.self) else { throw .malformedHeader("not UTF-8") }
            text = decoded
        } else {
            text = String(String.UnicodeScalarView(headerBytes.map { Unicode.Scalar($0) }))
        }
        return (try NpyHeader.parse(text), dataStart)
    }

    /// `<f4`, C order, format 1.0 (2.0 if the header would not fit in 16 bits), header padded with
    /// spaces and a newline so the data starts 64-byte aligned, as numpy does.
    public static func write(_ tensor: Tensor) -> [UInt8] {
        let dictionary = NpyHeader(descr: "<f4", fortranOrder: false, shape: tensor.shape).rendered
        var header = Array(dictionary.utf8)
        let version1Prefix = 10, version2Prefix = 12
        let useVersion2 = header.count + 1 + 64 > Int(UInt16.max)
        let prefix = useVersion2 ? version2Prefix : version1Prefix
        while (prefix + header.count + 1) % 64 != 0 { header.append(0x20) }
        header.append(0x0A)
        var bytes = magic + [useVersion2 ? 2 : 1, 0]
        if useVersion2 {
            LittleEndian.append(UInt32(header.count), to: &bytes)
        } else {
            LittleEndian.append(UInt16(header.count), to: &bytes)
        }
        bytes += header
        bytes.reserveCapacity(bytes.count + tensor.count * 4)
        for value in tensor.data { LittleEndian.append(value.bitPattern, to: &bytes) }
        return bytes
    }
}
