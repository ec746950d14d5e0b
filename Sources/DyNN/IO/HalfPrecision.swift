/// IEEE 754 binary16 and bfloat16 to FP32, bit by bit (no platform `Float16` needed, which x86
/// Linux builds of Swift do not always provide).
enum HalfPrecision {
    /// binary16: 1 sign, 5 exponent (bias 15), 10 fraction bits.
    static func floatFromHalf(_ bits: UInt16) -> Float {
        let sign = UInt32(bits >> 15) << 31
        let exponent = UInt32((bits >> 10) & 0x1F)
        let fraction = UInt32(bits & 0x3FF)
        if exponent == 0x1F {
            // Infinity or NaN: all-ones exponent, fraction kept (NaN payload shifted into place).
            return Float(bitPattern: sign | 0x7F80_0000 | (fraction << 13))
        }
        if exponent == 0 {
            if fraction == 0 { return Float(bitPattern: sign) }
            // Subnormal: value = fraction * 2^-24, exactly representable in FP32.
            let magnitude = Float(fraction) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign == 0 ? magnitude : -magnitude
        }
        // Normal: rebias the exponent from 15 to 127.
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (fraction << 13))
    }

    /// bfloat16 is the upper half of an FP32 bit pattern.
    static func floatFromBFloat(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// FP32 -> binary16 with round-to-nearest-even; used by tests and writers.
    static func halfFromFloat(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        if value.isNaN { return sign | 0x7E00 }
        let magnitude = abs(value)
        if magnitude >= 65520 { return sign | 0x7C00 }  // rounds to infinity
        if magnitude < Float(sign: .plus, exponent: -25, significand: 1) { return sign }  // below half the smallest subnormal
        if magnitude < Float(sign: .plus, exponent: -14, significand: 1) {
            // Subnormal: round(magnitude / 2^-24) with ties to even.
            let scaled = magnitude * Float(sign: .plus, exponent: 24, significand: 1)
            return sign | UInt16(scaled.rounded(.toNearestOrEven))
        }
        let exponent = Int((bits >> 23) & 0xFF) - 127 + 15
        var fraction = bits & 0x7F_FFFF
        var half = UInt32(exponent) << 10 | (fraction >> 13)
        fraction &= 0x1FFF
        if fraction > 0x1000 || (fraction == 0x1000 && half & 1 == 1) { half += 1 }  // carry may bump the exponent, which is correct
        return sign | UInt16(half)
    }

    /// FP32 -> bfloat16 with round-to-nearest-even.
    static func bfloatFromFloat(_ value: Float) -> UInt16 {
        if value.isNaN { return UInt16(value.bitPattern >> 16) | 0x40 }
        let bits = value.bitPattern
        let rounding = 0x7FFF + ((bits >> 16) & 1)
        return UInt16((bits &+ rounding) >> 16)
    }
}
