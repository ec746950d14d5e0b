import Testing
@testable import DyNN

@Suite struct NpyTests {
    /// A .npy file with the given version, header text and data bytes.
    static func file(major: UInt8 = 1, header: String, data: [UInt8]) -> [UInt8] {
        var text = Array(header.utf8)
        text.append(0x0A)
        var bytes: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, major, 0]
        if major == 1 { LittleEndian.append(UInt16(text.count), to: &bytes) } else { LittleEndian.append(UInt32(text.count), to: &bytes) }
        return bytes + text + data
    }

    static func floats(_ values: [Float]) -> [UInt8] {
        var bytes: [UInt8] = []
        for value in values { LittleEndian.append(value.bitPattern, to: &bytes) }
        return bytes
    }

    @Test func writesLikeNumpy() throws {
        let tensor = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
        let bytes = Npy.write(tensor)
        #expect(Array(bytes.prefix(8)) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let headerLength = Int(LittleEndian.uint16(bytes, at: 8))
        #expect((10 + headerLength) % 64 == 0)
        #expect(bytes[10 + headerLength - 1] == 0x0A)
        let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
        #expect(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"))
        #expect(bytes.count == 10 + headerLength + 24)
        #expect(try Npy.read(bytes) == tensor)
        #expect(try Npy.read(Npy.write(Tensor(shape: [5], data: [1, 2, 3, 4, 5]))).shape == [5])
        #expect(try Npy.read(Npy.write(Tensor(shape: [], data: [7]))) == Tensor(shape: [], data: [7]))
        #expect(try Npy.read(Npy.write(Tensor(zeros: [0, 4]))).shape == [0, 4])
    }

    @Test func readsVersions2And3() throws {
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"
        #expect(try Npy.read(Self.file(major: 2, header: header, data: Self.floats([1, 2]))).data == [1, 2])
        #expect(try Npy.read(Self.file(major: 3, header: header, data: Self.floats([3, 4]))).data == [3, 4])
    }

    @Test func convertsOtherDtypes() throws {
        var f8: [UInt8] = []
        for value: Double in [1.5, -2.25] { LittleEndian.append(value.bitPattern, to: &f8) }
        #expect(try Npy.read(Self.file(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", data: f8)).data == [1.5, -2.25])
        var f2: [UInt8] = []
        for bits: UInt16 in [0x3C00, 0xC000] { LittleEndian.append(bits, to: &f2) }
        #expect(try Npy.read(Self.file(header: "{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }", data: f2)).data == [1, -2])
        #expect(try Npy.read(Self.file(header: "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", data: [0, 128, 255])).data == [0, 128, 255])
        #expect(try Npy.read(Self.file(header: "{'descr': '|i1', 'fortran_order': False, 'shape': (2,), }", data: [0xFF, 0x80])).data == [-1, -128])
        var i8: [UInt8] = []
        for value: Int64 in [-5, 1 << 40] { LittleEndian.append(UInt64(bitPattern: value), to: &i8) }
        #expect(try Npy.read(Self.file(header: "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", data: i8)).data == [-5, Float(1 << 40)])
        var i4: [UInt8] = []
        LittleEndian.append(UInt32(bitPattern: -7), to: &i4)
        #expect(try Npy.read(Self.file(header: "{'shape': (1,), 'fortran_order': False, 'descr': '<i4'}", data: i4)).data == [-7])
        #expect(try Npy.read(Self.file(header: "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", data: [0, 1])).data == [0, 1])
    }

    @Test func rejectsUnsupportedLayouts() {
        #expect(throws: NpyError.fortranOrder) {
            try Npy.read(Self.file(header: "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", data: Self.floats([1])))
        }
        #expect(throws: NpyError.unsupportedDtype(">f4")) {
            try Npy.read(Self.file(header: "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", data: Self.floats([1])))
        }
        for descr in ["<c8", "|O", "<U4", "|f4", "<f16", "f4"] {
            #expect(throws: NpyError.unsupportedDtype(descr)) {
                try Npy.read(Self.file(header: "{'descr': '\(descr)', 'fortran_order': False, 'shape': (1,), }", data: Self.floats([1])))
            }
        }
    }

    @Test func rejectsMalformedHeaders() {
        let headers = [
            "[1, 2]",
            "{'descr': '<f4', 'fortran_order': False}",
            "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } junk",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,",
            "{'descr: '<f4', 'fortran_order': False, 'shape': (1,), }",
            "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }",
        ]
        for header in headers {
            #expect(throws: NpyError.self, "\(header)") { try Npy.read(Self.file(header: header, data: Self.floats([1]))) }
        }
    }

    @Test func rejectsTruncatedAndOversized() {
        #expect(throws: NpyError.notNpy) { try Npy.read([]) }
        #expect(throws: NpyError.notNpy) { try Npy.read(Array("PK\u{3}\u{4}nope".utf8)) }
        #expect(throws: NpyError.unsupportedVersion(major: 4, minor: 0)) { try Npy.read([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 4, 0, 0, 0]) }
        #expect(throws: NpyError.truncatedHeader(needed: 10, available: 9)) { try Npy.read([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, 5]) }
        // Header length beyond the file.
        #expect(throws: NpyError.truncatedHeader(needed: 10 + 0xFFFF, available: 12)) {
            try Npy.read([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, 0xFF, 0xFF, 0x7B, 0x7D])
        }
        #expect(throws: NpyError.truncatedHeader(needed: 12 + Int(UInt32.max), available: 12)) {
            try Npy.read([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 2, 0, 0xFF, 0xFF, 0xFF, 0xFF])
        }
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"
        #expect(throws: NpyError.dataSize(expected: 12, actual: 8)) { try Npy.read(Self.file(header: header, data: Self.floats([1, 2]))) }
        #expect(throws: NpyError.dataSize(expected: 12, actual: 16)) { try Npy.read(Self.file(header: header, data: Self.floats([1, 2, 3, 4]))) }
        // Element count overflows Int.
        let huge = "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"
        #expect(throws: NpyError.self) { try Npy.read(Self.file(header: huge, data: [])) }
        let byteOverflow = "{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693952,), }"
        #expect(throws: NpyError.self) { try Npy.read(Self.file(header: byteOverflow, data: [])) }
    }

    @Test func survivesRandomCorruption() {
        let good = Npy.write(Tensor(shape: [2, 2], data: [1, 2, 3, 4]))
        var generator = SplitMix64(seed: 9)
        for _ in 0..<500 {
            var bytes = good
            for _ in 0..<(Int(generator.next() % 3) + 1) {
                bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next())
            }
            if generator.next() % 3 == 0 { bytes = Array(bytes.prefix(Int(generator.next() % UInt64(bytes.count)))) }
            _ = try? Npy.read(bytes)
        }
    }
}
