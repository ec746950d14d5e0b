import Testing
@testable import DyNN

@Suite struct SafeTensorsTests {
    /// A file whose header is exactly `json` (padded to 8 bytes) followed by `data`.
    static func file(header json: String, data: [UInt8]) -> [UInt8] {
        var header = Array(json.utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var bytes: [UInt8] = []
        LittleEndian.append(UInt64(header.count), to: &bytes)
        return bytes + header + data
    }

    @Test func roundTripsF32() throws {
        let a = Tensor(shape: [2, 3], data: [1, -2, 3.5, 0, .pi, -1e-8])
        let b = Tensor(shape: [4], data: [9, 8, 7, 6])
        let bytes = SafeTensorsWriter.encode([("a", a), ("b.weight", b)], metadata: ["format": "pt"])
        let file = try SafeTensors(bytes: bytes)
        #expect(file.names == ["a", "b.weight"])
        #expect(file.tensor(named: "a") == a)
        #expect(file.tensor(named: "b.weight") == b)
        #expect(file.tensor(named: "missing") == nil)
        #expect(file.metadata == ["format": "pt"])
    }

    @Test func readsScalarAndEmptyTensors() throws {
        let bytes = SafeTensorsWriter.encode([("s", Tensor(shape: [], data: [5])), ("e", Tensor(zeros: [0, 3]))])
        let file = try SafeTensors(bytes: bytes)
        #expect(file.tensor(named: "s") == Tensor(shape: [], data: [5]))
        #expect(file.tensor(named: "e")?.shape == [0, 3])
    }

    @Test func convertsF16AndBF16() throws {
        // F16: 1.0 = 0x3C00, -2.0 = 0xC000, 65504 = 0x7BFF, smallest subnormal 0x0001 = 2^-24, +inf 0x7C00.
        var half: [UInt8] = []
        for bits: UInt16 in [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00, 0x8000] { LittleEndian.append(bits, to: &half) }
        // BF16: 1.0 = 0x3F80, -0.5 = 0xBF00, 3.140625 = 0x4049.
        var brain: [UInt8] = []
        for bits: UInt16 in [0x3F80, 0xBF00, 0x4049] { LittleEndian.append(bits, to: &brain) }
        let bytes = SafeTensorsWriter.encode(raw: [
            .init(name: "h", dtype: "F16", shape: [6], bytes: half),
            .init(name: "b", dtype: "BF16", shape: [3], bytes: brain),
        ])
        let file = try SafeTensors(bytes: bytes)
        let h = try #require(file.tensor(named: "h"))
        #expect(h.data[0] == 1)
        #expect(h.data[1] == -2)
        #expect(h.data[2] == 65504)
        #expect(h.data[3] == Float(sign: .plus, exponent: -24, significand: 1))
        #expect(h.data[4] == .infinity)
        #expect(h.data[5] == 0 && h.data[5].sign == .minus)
        #expect(file.tensor(named: "b")?.data == [1, -0.5, 3.140625])
    }

    @Test func rejectsUnsupportedDtypeNamingTheTensor() {
        let bytes = SafeTensorsWriter.encode(raw: [.init(name: "conv.weight", dtype: "I64", shape: [1], bytes: [UInt8](repeating: 0, count: 8))])
        #expect(throws: SafeTensorsError.unsupportedDtype(tensor: "conv.weight", dtype: "I64")) { try SafeTensors(bytes: bytes) }
    }

    @Test func rejectsTruncatedFiles() {
        #expect(throws: SafeTensorsError.tooShort(fileSize: 0)) { try SafeTensors(bytes: []) }
        #expect(throws: SafeTensorsError.tooShort(fileSize: 5)) { try SafeTensors(bytes: [1, 0, 0, 0, 0]) }
        let good = SafeTensorsWriter.encode([("a", Tensor(shape: [4], data: [1, 2, 3, 4]))])
        // Cutting into the data: offsets now run past the end.
        #expect(throws: SafeTensorsError.self) { try SafeTensors(bytes: Array(good.dropLast(3))) }
        // Cutting into the header: the declared length no longer fits.
        #expect(throws: SafeTensorsError.self) { try SafeTensors(bytes: Array(good.prefix(12))) }
    }

    @Test func rejectsHugeHeaderLength() {
        var bytes: [UInt8] = []
        LittleEndian.append(UInt64.max, to: &bytes)
        bytes += Array("{}".utf8)
        #expect(throws: SafeTensorsError.headerLength(declared: UInt64.max, fileSize: 10)) { try SafeTensors(bytes: bytes) }
        var large: [UInt8] = []
        LittleEndian.append(UInt64(1) << 40, to: &large)
        #expect(throws: SafeTensorsError.self) { try SafeTensors(bytes: large + [0x7B, 0x7D]) }
    }

    @Test func rejectsBadJSON() {
        #expect(throws: SafeTensorsError.self) { try SafeTensors(bytes: Self.file(header: "{\"a\": ", data: [])) }
        #expect(throws: SafeTensorsError.self) { try SafeTensors(bytes: Self.file(header: "[1, 2]", data: [])) }
        #expect(throws: SafeTensorsError.self) { try SafeTensors(bytes: Self.file(header: "{\"a\": 3}", data: [])) }
        let invalidUTF8: [UInt8] = [0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D]
        var bytes: [UInt8] = []
        LittleEndian.append(UInt64(invalidUTF8.count), to: &bytes)
        #expect(throws: SafeTensorsError.self) { try SafeTensors(bytes: bytes + invalidUTF8) }
    }

    @Test func rejectsMalformedEntries() {
        let cases = [
            #"{"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}"#,
            #"{"a": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}}"#,
            #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}"#,
            #"{"a": {"dtype": "F32", "shape": [1]}}"#,
            #"{"a": {"shape": [1], "data_offsets": [0, 4]}}"#,
            #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "extra": 1}}"#,
            #"{"__metadata__": {"k": 1}}"#,
        ]
        for header in cases {
            #expect(throws: SafeTensorsError.self, "\(header)") { try SafeTensors(bytes: Self.file(header: header, data: [0, 0, 0, 0])) }
        }
    }

    @Test func rejectsOffsetsOutOfRangeOrReversed() {
        let past = Self.file(header: #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}"#, data: [0, 0, 0, 0])
        #expect(throws: SafeTensorsError.offsetsOutOfRange(tensor: "a", begin: 0, end: 8, dataSize: 4)) { try SafeTensors(bytes: past) }
        let reversed = Self.file(header: #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}"#, data: [0, 0, 0, 0])
        #expect(throws: SafeTensorsError.offsetsOutOfRange(tensor: "a", begin: 4, end: 0, dataSize: 4)) { try SafeTensors(bytes: reversed) }
        let negative = Self.file(header: #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}}"#, data: [0, 0, 0, 0])
        #expect(throws: SafeTensorsError.self) { try SafeTensors(bytes: negative) }
    }

    @Test func rejectsOverlappingTensors() {
        let header = #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}"#
        #expect(throws: SafeTensorsError.overlapping(tensor: "b", other: "a")) {
            try SafeTensors(bytes: Self.file(header: header, data: [UInt8](repeating: 0, count: 12)))
        }
    }

    @Test func rejectsByteCountMismatchAndOverflow() {
        let mismatch = Self.file(header: #"{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}"#, data: [UInt8](repeating: 0, count: 8))
        #expect(throws: SafeTensorsError.byteCount(tensor: "a", expected: "12", actual: 8)) { try SafeTensors(bytes: mismatch) }
        let half = Self.file(header: #"{"a": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 12]}}"#, data: [UInt8](repeating: 0, count: 12))
        #expect(throws: SafeTensorsError.byteCount(tensor: "a", expected: "6", actual: 12)) { try SafeTensors(bytes: half) }
        // 2^62 elements * 4 bytes overflows Int.
        let overflow = Self.file(header: #"{"a": {"dtype": "F32", "shape": [4611686018427387904], "data_offsets": [0, 4]}}"#, data: [0, 0, 0, 0])
        #expect(throws: SafeTensorsError.self) { try SafeTensors(bytes: overflow) }
        let productOverflow = Self.file(header: #"{"a": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 4]}}"#, data: [0, 0, 0, 0])
        #expect(throws: SafeTensorsError.self) { try SafeTensors(bytes: productOverflow) }
    }

    @Test func survivesRandomCorruption() {
        let good = SafeTensorsWriter.encode([("a", Tensor(shape: [2, 2], data: [1, 2, 3, 4])), ("b", Tensor(shape: [3], data: [5, 6, 7]))])
        var generator = SplitMix64(seed: 42)
        for _ in 0..<500 {
            var bytes = good
            let flips = Int(generator.next() % 4) + 1
            for _ in 0..<flips {
                let position = Int(generator.next() % UInt64(bytes.count))
                bytes[position] = UInt8(truncatingIfNeeded: generator.next())
            }
            if generator.next() % 3 == 0 { bytes = Array(bytes.prefix(Int(generator.next() % UInt64(bytes.count)))) }
            // Either parses into consistent tensors or throws; never crashes.
            if let file = try? SafeTensors(bytes: bytes) {
                for name in file.names { _ = file.tensor(named: name) }
            }
        }
    }
}

@Suite struct HostileJSONTests {
    @Test func deeplyNestedHeadersAreErrorsNotCrashes() {
        let depth = 100_000
        let nested = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        #expect(throws: SafeTensorsError.self) {
            try SafeTensors(bytes: SafeTensorsTests.file(header: "{\"a\": \(nested)}", data: []))
        }
        let spec = ModelSpecTests.example.replacingOccurrences(of: "\"experts\": 4", with: "\"experts\": \(nested)")
        #expect(throws: ModelError.self) { try ModelSpec.decode(Array(spec.utf8)) }
    }
}
