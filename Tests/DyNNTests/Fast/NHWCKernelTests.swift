@testable import DyNN
import CDNNL
import Testing

/// The C kernels of the fast path against plain loops: the element-wise kernels that threads run in
/// slices give exactly the reference formula; the AVX2 fully connected kernels match the portable ones.
@Suite struct NHWCKernelTests {
    /// As the engine decides it: a CPU with AVX2 and a build with the shim's AVX2 kernels.
    private static var hasAVX2: Bool { (try? DNNLContext().hasAVX2) ?? false }

    /// FC1 + ReLU for 1 to 9 samples at once (the AVX2 kernel takes four at a time, then the rest), with
    /// fp32 and fp16 weights and row lengths that leave 16- and 8-wide remainders: equal to the portable
    /// kernel within float rounding, ReLU and bias included.
    @Test(arguments: [false, true])
    func batchedRowsMatchThePortableKernel(half: Bool) {
        guard Self.hasAVX2 else { return }
        for cols in [7, 37, 960] {
            let rows = 11
            let weights = (0..<rows * cols).map { Float(($0 * 37) % 101) / 50 - 1 }
            let halves = weights.map { HalfPrecision.halfFromFloat($0) }
            let bias = (0..<rows).map { Float($0) / 10 - 0.5 }
            for samples in 1...9 {
                let stride = cols + 3
                let x = (0..<samples * stride).map { Float(($0 * 53) % 97) / 48 - 1 }
                var fast = [Float](repeating: .nan, count: samples * rows)
                var plain = [Float](repeating: .nan, count: samples * rows)
                func run(_ avx2: Int32, into y: inout [Float]) {
                    y.withUnsafeMutableBufferPointer { y in
                        if half {
                            halves.withUnsafeBytes { w in
                                dy_fc_rows_samples(w.baseAddress, 1, bias, x, Int32(stride), Int32(samples), 0, Int32(rows),
                                                   Int32(cols), 1, avx2, y.baseAddress, Int32(rows))
                            }
                        } else {
                            weights.withUnsafeBytes { w in
                                dy_fc_rows_samples(w.baseAddress, 0, bias, x, Int32(stride), Int32(samples), 0, Int32(rows),
                                                   Int32(cols), 1, avx2, y.baseAddress, Int32(rows))
                            }
                        }
                    }
                }
                run(1, into: &fast)
                run(0, into: &plain)
                let worst = zip(fast, plain).map { abs($0 - $1) }.max() ?? .nan
                #expect(worst <= 1e-5 * Float(cols), "cols \(cols), samples \(samples): largest difference \(worst)")
                #expect(plain.contains(0) && plain.allSatisfy { $0 >= 0 }, "ReLU applied")
            }
        }
    }

    /// Two samples' kernels in one pass over the experts equal each sample's kernel made alone, with fp32
    /// and fp16 experts and a length that leaves a remainder after the 8-wide steps; portable and AVX2.
    @Test(arguments: [false, true], [false, true])
    func pairedAggregationMatchesSingle(half: Bool, avx2: Bool) {
        if avx2 && !Self.hasAVX2 { return }
        let (experts, count) = (4, 1_003)
        let bank = (0..<experts * count).map { Float(($0 * 31) % 89) / 44 - 1 }
        let halves = bank.map { HalfPrecision.halfFromFloat($0) }
        let pi: [[Float]] = [[0.1, 0.2, 0.3, 0.4], [0.7, 0.05, 0.05, 0.2]]
        var first = [Float](repeating: .nan, count: count), second = first
        var single = [first, first]
        func withBank(_ body: (UnsafeRawPointer) -> Void) {
            if half { halves.withUnsafeBytes { body($0.baseAddress!) } } else { bank.withUnsafeBytes { body($0.baseAddress!) } }
        }
        withBank { raw in
            dy_aggregate_pair(raw, half ? 1 : 0, count, count, Int32(experts), pi[0], pi[1], avx2 ? 1 : 0, &first, &second)
            for n in 0..<2 {
                dy_aggregate(raw, half ? 1 : 0, count, count, Int32(experts), pi[n], avx2 ? 1 : 0, &single[n])
            }
        }
        #expect([first, second] == single)
    }

    /// `Normalize` written NHWC from NCHW, over slices of units that start and end inside samples and inside
    /// the kernel's staging blocks, with and without AVX2: every element is `(x - mean) / std`, bit for bit.
    @Test(arguments: [false, true])
    func normalizeSlicesMatchTheFormula(avx2: Bool) {
        if avx2 && !Self.hasAVX2 { return }
        let (batch, channels, pixels) = (3, 3, 700)
        let source = (0..<batch * channels * pixels).map { Float(($0 * 7_919) % 1_000) / 997 }
        let mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]
        var target = [Float](repeating: .nan, count: source.count)
        let cuts = [0, 1, 255, 700, 701, 1_399, 1_650, batch * pixels]
        source.withUnsafeBufferPointer { s in
            target.withUnsafeMutableBufferPointer { t in
                for (start, end) in zip(cuts, cuts.dropFirst()) {
                    NHWCKernels.normalizeToNHWC(s.baseAddress!, t.baseAddress!, units: start..<end, channels: channels,
                                                pixels: pixels, mean: mean, std: std, avx2: avx2)
                }
            }
        }
        var mismatches = 0
        for n in 0..<batch {
            for c in 0..<channels {
                for p in 0..<pixels where target[(n * pixels + p) * channels + c]
                    != (source[(n * channels + c) * pixels + p] - mean[c]) / std[c] { mismatches += 1 }
            }
        }
        #expect(mismatches == 0)
    }

    /// Squeeze-excitation's channel gate on NHWC, in slices that start and end inside a pixel's run of
    /// channels: every element equals `x * gate[n, c]`, exactly.
    @Test func scaleChannelsInAnySlices() {
        let (batch, pixels, channels) = (2, 3, 5)
        let count = batch * pixels * channels
        let x = (0..<count).map { Float($0) - 7 }
        let gates = (0..<batch * channels).map { Float($0) / 4 - 1 }
        var expected = [Float](repeating: 0, count: count)
        for n in 0..<batch {
            for p in 0..<pixels {
                for c in 0..<channels {
                    let i = (n * pixels + p) * channels + c
                    expected[i] = x[i] * gates[n * channels + c]
                }
            }
        }
        for cut in [0, 3, 7, 16, 29, 30] {
            var y = [Float](repeating: .nan, count: count)
            y.withUnsafeMutableBufferPointer { out in
                NHWCKernels.scaleChannels(x, gates: gates, out.baseAddress!, elements: 0..<cut, channels: channels, pixels: pixels)
                NHWCKernels.scaleChannels(x, gates: gates, out.baseAddress!, elements: cut..<count, channels: channels, pixels: pixels)
            }
            #expect(y == expected, "split at \(cut)")
        }
    }
}
