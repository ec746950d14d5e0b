@testable import DyNN
import CDNNL
import Testing

/// The element-wise kernels that threads run in slices give, slice by slice, exactly the reference formula.
@Suite struct NHWCKernelTests {
    /// `Normalize` written NHWC from NCHW, over slices of units that start and end inside samples and inside
    /// the kernel's staging blocks, with and without AVX2: every element is `(x - mean) / std`, bit for bit.
    @Test(arguments: [false, true])
    func normalizeSlicesMatchTheFormula(avx2: Bool) {
        if avx2 && dnnl_get_effective_cpu_isa().rawValue < dnnl_cpu_isa_avx2.rawValue { return }
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
}
