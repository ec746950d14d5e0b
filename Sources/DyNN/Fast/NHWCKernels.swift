import CDNNL

/// The element-wise passes of the fast backend over NHWC activations. Each computes, per element,
/// exactly the formula of the matching reference op; only the memory order differs.
enum NHWCKernels {
    /// NCHW -> NHWC for `batch` samples of `channels` x `pixels`.
    static func toNHWC(_ source: UnsafePointer<Float>, _ target: UnsafeMutablePointer<Float>,
                       batch: Int, channels: Int, pixels: Int) {
        for n in 0..<batch {
            let s = source + n * channels * pixels, t = target + n * channels * pixels
            for c in 0..<channels {
                let plane = s + c * pixels
                for p in 0..<pixels { t[p * channels + c] = plane[p] }
            }
        }
    }

    /// NHWC -> NCHW.
    static func toNCHW(_ source: UnsafePointer<Float>, _ target: UnsafeMutablePointer<Float>,
                       batch: Int, channels: Int, pixels: Int) {
        for n in 0..<batch {
            let s = source + n * channels * pixels, t = target + n * channels * pixels
            for p in 0..<pixels {
                let row = s + p * channels
                for c in 0..<channels { t[c * pixels + p] = row[c] }
            }
        }
    }

    /// `Normalize` on an NCHW input, written NHWC, for the pixels `units` of the batch (unit `n * pixels + p`
    /// is sample n's pixel p), so threads can take slices. Each channel's run of pixels is normalised by a
    /// vector loop into a small staging block, then interleaved into NHWC order: the division, not the
    /// memory traffic, is what costs when done one strided element at a time.
    static func normalizeToNHWC(_ source: UnsafePointer<Float>, _ target: UnsafeMutablePointer<Float>, units: Range<Int>,
                                channels: Int, pixels: Int, mean: [Float], std: [Float], avx2: Bool) {
        let block = 256
        let staging = UnsafeMutablePointer<Float>.allocate(capacity: block * channels)
        defer { staging.deallocate() }
        var unit = units.lowerBound
        while unit < units.upperBound {
            let (n, p) = unit.quotientAndRemainder(dividingBy: pixels)
            let count = min(block, pixels - p, units.upperBound - unit)
            for c in 0..<channels {
                dy_normalize_run(source + (n * channels + c) * pixels + p, Int32(count), mean[c], std[c], avx2 ? 1 : 0,
                                 staging + c * block)
            }
            let t = target + unit * channels
            for i in 0..<count {
                for c in 0..<channels { t[i * channels + c] = staging[c * block + i] }
            }
            unit += count
        }
    }

    /// `Normalize` on NHWC rows `rows` (one row per pixel).
    static func normalizeNHWC(_ source: UnsafePointer<Float>, _ target: UnsafeMutablePointer<Float>,
                              rows: Range<Int>, channels: Int, mean: [Float], std: [Float]) {
        mean.withUnsafeBufferPointer { mean in
            std.withUnsafeBufferPointer { std in
                for r in rows {
                    let s = source + r * channels, t = target + r * channels
                    for c in 0..<channels { t[c] = (s[c] - mean[c]) / std[c] }
                }
            }
        }
    }

    /// A parameterless activation, any layout (may run in place).
    static func activation(_ kind: ActivationKind, _ source: UnsafePointer<Float>,
                           _ target: UnsafeMutablePointer<Float>, count: Int) {
        switch kind {
        case .relu: for i in 0..<count { target[i] = max(source[i], 0) }
        case .relu6: for i in 0..<count { target[i] = min(max(source[i], 0), 6) }
        case .hardSwish, .sigmoid, .silu, .hardSigmoid: for i in 0..<count { target[i] = kind(source[i]) }
        }
    }

    /// `target = a + b`, any layout (may run in place).
    static func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ target: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { target[i] = a[i] + b[i] }
    }

    /// `target = a * b`, any layout (may run in place).
    static func multiply(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ target: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { target[i] = a[i] * b[i] }
    }

    /// Squeeze-excitation's `y[n, p, c] = x[n, p, c] * gates[n, c]` on NHWC, for the flat element indices
    /// `elements` of the batch (so threads can take slices; may run in place).
    static func scaleChannels(_ source: UnsafePointer<Float>, gates: UnsafePointer<Float>, _ target: UnsafeMutablePointer<Float>,
                              elements: Range<Int>, channels: Int, pixels: Int) {
        var i = elements.lowerBound
        while i < elements.upperBound {
            // The run of this pixel's channels inside the slice.
            let (row, c0) = i.quotientAndRemainder(dividingBy: channels)
            let end = min(elements.upperBound, (row + 1) * channels)
            let gate = gates + (row / pixels) * channels
            for j in i..<end { target[j] = source[j] * gate[c0 + j - i] }
            i = end
        }
    }

    /// Per-channel means of one NHWC sample, summed in pixel order per channel like
    /// `GlobalAvgPool.channelMeans`, so the pooled values match the reference bit for bit.
    static func channelMeans(_ sample: UnsafePointer<Float>, pixels: Int, channels: Int,
                             into means: UnsafeMutablePointer<Float>, avx2: Bool) {
        dy_channel_sums(sample, Int32(pixels), Int32(channels), Int32(channels), avx2 ? 1 : 0, means)
        let scale = Float(pixels)
        for c in 0..<channels { means[c] /= scale }
    }
}
