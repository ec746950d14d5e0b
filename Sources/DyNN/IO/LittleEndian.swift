/// Little-endian scalar reads from byte arrays. Callers check bounds first; these only assemble bits.
enum LittleEndian {
    static func uint16(_ bytes: [UInt8], at offset: Int) -> UInt16 {
        UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    static func uint32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        var value: UInt32 = 0
        for index in 0..<4 { value |= UInt32(bytes[offset + index]) << (8 * index) }
        return value
    }

    static func uint64(_ bytes: [UInt8], at offset: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[offset + index]) << (8 * index) }
        return value
    }

    static func append(_ value: UInt16, to bytes: inout [UInt8]) {
        bytes.append(UInt8(value & 0xFF))
        bytes.append(UInt8(value >> 8))
    }

    static func append(_ value: UInt32, to bytes: inout [UInt8]) {
        for index in 0..<4 { bytes.append(UInt8((value >> (8 * index)) & 0xFF)) }
    }

    static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        for index in 0..<8 { bytes.append(UInt8((value >> (8 * index)) & 0xFF)) }
    }
}

/// Product of dimensions, or nil when a dimension is negative or the product overflows `Int`.
func checkedElementCount(_ shape: [Int]) -> Int? {
    var count = 1
    for dim in shape {
        guard dim >= 0 else { return nil }
        let (product, overflow) = count.multipliedReportingOverflow(by: dim)
        guard !overflow else { return nil }
        count = product
    }
    return count
}
