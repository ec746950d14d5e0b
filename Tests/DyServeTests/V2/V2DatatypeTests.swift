import Testing
@testable import DyServe

@Suite struct V2DatatypeTests {
    func binary(_ type: V2Datatype, _ bytes: [UInt8]) throws(RequestError) -> Float {
        let copy = bytes
        var result: Result<Float, RequestError> = .success(0)
        copy.withUnsafeBytes { raw in
            do throws(RequestError) {
                result = .success(try type.float(fromBinary: raw, at: 0, place: "x"))
            } catch {
                result = .failure(error)
            }
        }
        return try result.get()
    }

    @Test func jsonFP16ValuesMustBeInFP16Range() throws {
        #expect(try V2Datatype.fp16.float(fromJSON: 65504, place: "x") == 65504)
        #expect(try V2Datatype.fp16.float(fromJSON: -65504, place: "x") == -65504)
        for value in [70000.0, -65520.0, 1e10] {
            do {
                _ = try V2Datatype.fp16.float(fromJSON: value, place: "x")
                Issue.record("FP16 accepted \(value)")
            } catch {
                #expect(error.status == 400 && error.message.contains("outside the FP16 range"), "\(error.message)")
            }
        }
        // FP32 and BF16 keep their own (FP32) range.
        #expect(try V2Datatype.fp32.float(fromJSON: 70000, place: "x") == 70000)
        #expect(try V2Datatype.bf16.float(fromJSON: 70000, place: "x") == 70000)
    }

    @Test func halfPrecisionConvertsExactly() {
        #expect(V2Datatype.halfToFloat(0x3C00) == 1)
        #expect(V2Datatype.halfToFloat(0xC000) == -2)
        #expect(V2Datatype.halfToFloat(0x7BFF) == 65504)
        #expect(V2Datatype.halfToFloat(0x0001) == 0x1p-24)  // smallest subnormal
        #expect(V2Datatype.halfToFloat(0x8000) == 0 && V2Datatype.halfToFloat(0x8000).sign == .minus)
        #expect(V2Datatype.halfToFloat(0x7C00) == .infinity)
        #expect(V2Datatype.halfToFloat(0x7E00).isNaN)
        #expect(V2Datatype.halfToFloat(0x3555) == Float(0.333251953125))
    }

    @Test func binaryConversions() throws {
        #expect(try binary(.fp32, [0, 0, 0x80, 0x3F]) == 1)
        #expect(try binary(.fp64, [0, 0, 0, 0, 0, 0, 0x30, 0x40]) == 16)
        #expect(try binary(.fp16, [0x00, 0x4C]) == 16)
        #expect(try binary(.bf16, [0x80, 0x41]) == 16)
        #expect(try binary(.int8, [0xFF]) == -1)
        #expect(try binary(.uint8, [0xFF]) == 255)
        #expect(try binary(.int16, [0x00, 0x80]) == -32768)
        #expect(try binary(.uint16, [0xFF, 0xFF]) == 65535)
        #expect(try binary(.int32, [0x00, 0x00, 0x00, 0x01]) == 16_777_216)
        #expect(try binary(.uint64, [0, 0, 0, 0, 0, 0, 0, 0x80]) == 0x1p63)  // a power of two is exact
    }

    @Test func inexactOrNonFiniteBinaryValuesAreRejected() {
        let cases: [(V2Datatype, [UInt8], String)] = [
            (.int32, [0x01, 0x00, 0x00, 0x01], "16777217 is not exactly representable"),
            (.uint32, [0xFF, 0xFF, 0xFF, 0xFF], "not exactly representable"),
            (.int64, [0x01, 0, 0, 0, 0, 0, 0, 0x80], "not exactly representable"),
            (.fp32, [0, 0, 0xC0, 0x7F], "not a finite FP32"),
            (.fp64, [0, 0, 0, 0, 0, 0, 0xF0, 0x7F], "FP32's range"),
            (.fp64, [0, 0, 0, 0, 0, 0, 0xF0, 0x47], "FP32's range"),  // 2^128: finite FP64, not FP32
            (.fp16, [0x00, 0x7C], "not a finite FP16"),
            (.bf16, [0x80, 0x7F], "not a finite BF16"),
            (.bool, [1], "BOOL"),
        ]
        for (type, bytes, fragment) in cases {
            let e = requestError { try binary(type, bytes) }
            #expect(e?.status == 400, "\(type)")
            #expect(e?.message.contains(fragment) == true, "\(type): \(e?.message ?? "accepted")")
        }
    }

    @Test func jsonConversions() throws {
        #expect(try V2Datatype.fp32.float(fromJSON: 0.5, place: "x") == 0.5)
        #expect(try V2Datatype.int16.float(fromJSON: -7, place: "x") == -7)
        #expect(try V2Datatype.fp64.float(fromJSON: 0.1, place: "x") == Float(0.1))
        let cases: [(V2Datatype, Double, String)] = [
            (.int8, 128, "out of the range of INT8"),
            (.uint8, -1, "out of the range of UINT8"),
            (.int32, 2.5, "not an integer"),
            (.int32, 16_777_217, "not exactly representable"),
            (.int64, 0x1p60, "too large"),
            (.fp64, 1e39, "FP32's range"),
            (.fp32, -1e300, "FP32's range"),
        ]
        for (type, value, fragment) in cases {
            let e = requestError { try type.float(fromJSON: value, place: "inputs[0].data[3]") }
            #expect(e?.message.contains(fragment) == true, "\(type) \(value): \(e?.message ?? "accepted")")
            #expect(e?.message.contains("inputs[0].data[3]") == true)
        }
    }

    @Test func bytesAndBoolCannotFeedTensors() {
        #expect(requestError { try V2Datatype.bytes.checkConvertible(input: "input") }?.message.contains("BYTES is not accepted") == true)
        #expect(requestError { try V2Datatype.bool.checkConvertible(input: "input") }?.message.contains("input \"input\"") == true)
        #expect(requestError { try V2Datatype.uint16.checkConvertible(input: "input") } == nil)
    }
}
