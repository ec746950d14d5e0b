import Testing
@testable import DyNN

@Suite struct HalfPrecisionTests {
    @Test func decodesHalfSpecialValues() {
        #expect(HalfPrecision.floatFromHalf(0x0000) == 0)
        #expect(HalfPrecision.floatFromHalf(0x3C00) == 1)
        #expect(HalfPrecision.floatFromHalf(0x3555) == 0.333251953125)
        #expect(HalfPrecision.floatFromHalf(0x7BFF) == 65504)
        #expect(HalfPrecision.floatFromHalf(0x0400) == Float(sign: .plus, exponent: -14, significand: 1))  // smallest normal
        #expect(HalfPrecision.floatFromHalf(0x03FF) == Float(1023) * Float(sign: .plus, exponent: -24, significand: 1))
        #expect(HalfPrecision.floatFromHalf(0x8001) == -Float(sign: .plus, exponent: -24, significand: 1))
        #expect(HalfPrecision.floatFromHalf(0xFC00) == -.infinity)
        #expect(HalfPrecision.floatFromHalf(0x7E00).isNaN)
    }

    @Test func everyHalfRoundTrips() {
        // Every finite binary16 value is exact in FP32, so encoding the decoded value gives the bits back.
        for bits in UInt16.min...UInt16.max {
            let value = HalfPrecision.floatFromHalf(bits)
            if value.isNaN { continue }
            #expect(HalfPrecision.halfFromFloat(value) == bits, "0x\(String(bits, radix: 16))")
        }
    }

    @Test func encodesHalfWithRounding() {
        #expect(HalfPrecision.halfFromFloat(1 + 1.0 / 4096) == 0x3C00)  // below half an ulp: rounds down
        #expect(HalfPrecision.halfFromFloat(1e6) == 0x7C00)
        #expect(HalfPrecision.halfFromFloat(1e-10) == 0)
    }

    @Test func decodesBFloat() {
        #expect(HalfPrecision.floatFromBFloat(0x3F80) == 1)
        #expect(HalfPrecision.floatFromBFloat(0xC2F7) == -123.5)
        #expect(HalfPrecision.floatFromBFloat(0x7F80) == .infinity)
        #expect(HalfPrecision.floatFromBFloat(0x0001) == Float(bitPattern: 0x0001_0000))
        #expect(HalfPrecision.bfloatFromFloat(-123.5) == 0xC2F7)
        #expect(HalfPrecision.bfloatFromFloat(Float(bitPattern: 0x3F80_8000)) == 0x3F80)  // tie to even
        #expect(HalfPrecision.bfloatFromFloat(Float(bitPattern: 0x3F81_8000)) == 0x3F82)
    }
}
