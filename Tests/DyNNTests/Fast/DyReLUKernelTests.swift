@testable import DyNN
import CDNNL
import Foundation
import Testing

/// DY-ReLU's C kernels (Sources/CDNNL/dyrelu.h), portable and AVX2, against plain loops of the reference
/// formulas: channel counts with and without 8- and 16-wide remainders, row counts within one tile of rows
/// and across several, 1 to 3 pieces, with and without the spatial branch, and in place.
@Suite struct DyReLUKernelTests {
    private static var hasAVX2: Bool { dnnl_get_effective_cpu_isa().rawValue >= dnnl_cpu_isa_avx2.rawValue }

    private static func values(_ count: Int, _ seed: Int) -> [Float] {
        (0..<count).map { Float((($0 + seed) * 37) % 101) / 25 - 2 }
    }

    @Test(arguments: [(3, 9), (8, 9), (13, 9), (40, 9), (96, 9), (40, 37), (96, 50), (1280, 20)])
    func poolingSumsChannelsAndSpatialLogits(channels: Int, rows: Int) {
        let x = Self.values(rows * channels, 1), w = Self.values(channels, 2)
        var expectedSums = [Float](repeating: 0.5, count: channels), expectedZ = [Float](repeating: 0, count: rows)
        for p in 0..<rows {
            var z: Float = 0.25
            for c in 0..<channels {
                expectedSums[c] += x[p * channels + c]
                z += w[c] * x[p * channels + c]
            }
            expectedZ[p] = z
        }
        for avx2 in Self.hasAVX2 ? [false, true] : [false] {
            func pool(_ x: UnsafePointer<Float>, _ rows: Int32, _ channels: Int32, _ sums: UnsafeMutablePointer<Float>,
                      _ w: UnsafePointer<Float>?, _ bias: Float, _ z: UnsafeMutablePointer<Float>?) {
                dy_dyrelu_pool_rows(x, rows, channels, sums, w, bias, z, avx2 ? 1 : 0)
            }
            // The sums accumulate onto what is there (a thread's running partial sums).
            var sums = [Float](repeating: 0.5, count: channels), z = [Float](repeating: .nan, count: rows)
            pool(x, Int32(rows), Int32(channels), &sums, w, 0.25, &z)
            expectClose(sums, expectedSums, "sums, \(channels) channels, avx2 \(avx2)")
            expectClose(z, expectedZ, "z, \(channels) channels, avx2 \(avx2)")
            var plainSums = [Float](repeating: 0.5, count: channels)
            pool(x, Int32(rows), Int32(channels), &plainSums, nil, 0, nil)
            expectClose(plainSums, expectedSums, "sums without spatial branch, \(channels) channels, \(rows) rows, avx2 \(avx2)")
        }
    }

    @Test(arguments: [(3, 7), (8, 7), (13, 7), (40, 7), (96, 7), (24, 35), (40, 17), (96, 33)])
    func applyIsTheMaximumOfThePiecesTimesTheMap(channels: Int, rows: Int) {
        let x = Self.values(rows * channels, 3), e = Self.values(rows, 4).map { abs($0) + 0.1 }
        let scale: Float = 0.9
        for pieces in 1...3 {
            let a = Self.values(pieces * channels, 5), b = Self.values(pieces * channels, 6)
            for spatial in [false, true] {
                var expected = [Float](repeating: 0, count: rows * channels)
                for p in 0..<rows {
                    let m = min(scale * e[p], 1)
                    for c in 0..<channels {
                        let v = x[p * channels + c]
                        var y = a[c] * v + b[c]
                        for k in 1..<pieces { y = max(y, a[k * channels + c] * v + b[k * channels + c]) }
                        expected[p * channels + c] = spatial ? y * m : y
                    }
                }
                for avx2 in Self.hasAVX2 ? [false, true] : [false] {
                    func apply(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ rows: Int32, _ channels: Int32,
                               _ pieces: Int32, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                               _ e: UnsafePointer<Float>?, _ scale: Float) {
                        dy_dyrelu_apply_rows(x, y, rows, channels, pieces, a, b, e, scale, avx2 ? 1 : 0)
                    }
                    var y = [Float](repeating: .nan, count: rows * channels)
                    apply(x, &y, Int32(rows), Int32(channels), Int32(pieces), a, b, spatial ? e : nil, scale)
                    expectClose(y, expected, "\(channels) channels, \(rows) rows, \(pieces) pieces, spatial \(spatial), avx2 \(avx2)")
                    // In place, as the fast path runs it when the input dies at the activation.
                    var inPlace = x
                    inPlace.withUnsafeMutableBufferPointer { buffer in
                        apply(buffer.baseAddress!, buffer.baseAddress!, Int32(rows), Int32(channels), Int32(pieces), a, b,
                              spatial ? e : nil, scale)
                    }
                    expectClose(inPlace, expected, "in place, \(channels) channels, \(pieces) pieces, avx2 \(avx2)")
                }
            }
        }
    }

    /// The coefficients kernel against the reference's squash (`Squash`, `Probability.sigmoid`) and a plain
    /// scatter: both squashes, logits from -100 to 100 (the sigmoid's saturated tails and the clamped range of
    /// the vector exponential), output ranges with and without 8-wide remainders, slopes and intercepts
    /// interleaved as the paper's layout stores them.
    @Test(arguments: [(0, 7), (0, 8), (3, 29), (0, 3840), (1920, 3840)])
    func coefficientsAreTheSquashedLogitsScattered(first: Int, end: Int) {
        let outputs = 3840, channels = outputs / 4
        // Mostly moderate logits, every 37th far out in a tail.
        let z = (0..<outputs).map { (o: Int) -> Float in
            let far = Float(o % 201) - 100, moderate = Float((o * 53) % 97) / 8 - 6
            return o % 37 == 0 ? far : moderate
        }
        // Output o: slope (even) or intercept (odd) of piece (o / 2) % 2, channel o / 4.
        let targets: [Int32] = (0..<outputs).map { (o: Int) -> Int32 in
            let index = Int32((o / 2) % 2 * channels + o / 4)
            return o % 2 == 0 ? index : -1 - index
        }
        let offsets = (0..<outputs).map { (o: Int) -> Float in Float(o % 5) / 4 }
        let gains = (0..<outputs).map { (o: Int) -> Float in 0.5 + Float(o % 3) / 4 }
        for squash in [Squash.sigmoid, .hardSigmoid] {
            var expectedA = [Float](repeating: .nan, count: outputs / 2), expectedB = expectedA
            for o in first..<end {
                let value = offsets[o] + gains[o] * squash(z[o])
                let d = Int(targets[o])
                if d >= 0 { expectedA[d] = value } else { expectedB[-1 - d] = value }
            }
            for avx2 in Self.hasAVX2 ? [false, true] : [false] {
                var a = [Float](repeating: .nan, count: outputs / 2), b = a
                dy_dyrelu_coefficients(z, Int32(first), Int32(end), squash == .sigmoid ? 1 : 0, targets, offsets, gains,
                                       &a, &b, avx2 ? 1 : 0)
                // Outputs outside the range stay untouched (NaN on both sides).
                let what = "\(squash), outputs \(first)..<\(end), avx2 \(avx2)"
                #expect(zip(a, expectedA).allSatisfy { $0.isNaN == $1.isNaN }, "\(what): slopes written outside the range")
                #expect(zip(b, expectedB).allSatisfy { $0.isNaN == $1.isNaN }, "\(what): intercepts written outside the range")
                expectClose(a.filter { !$0.isNaN }, expectedA.filter { !$0.isNaN }, "slopes, \(what)")
                expectClose(b.filter { !$0.isNaN }, expectedB.filter { !$0.isNaN }, "intercepts, \(what)")
            }
        }
    }

    /// Within float rounding of the plain loop (the AVX2 kernels use fused multiply-adds and sum in lanes).
    private func expectClose(_ actual: [Float], _ expected: [Float], _ what: String) {
        let error = zip(actual, expected).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
        #expect(actual.count == expected.count && error <= 1e-5, "\(what): relative error \(error)")
    }
}
