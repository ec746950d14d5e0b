@testable import DyNN
import Foundation
import Testing

/// `PixelSplitPooling`, the channel means of the dynamic convolutions' attention, the global average
/// pools and the expert routing, split by pixels across two threads, against the single-thread means.
@Suite struct PixelSplitPoolingTests {
    /// The pixel-split pooling against the single-thread channel means, at the size of EfficientNet's first
    /// squeeze-excitation pool (32 x 112 x 112), of a late one (1152 x 7 x 7) and a tiny one, on two threads
    /// whatever the split would pay for: the same sums in another order, so within float rounding of sums
    /// of up to 12,544 values (means near 0.5).
    @Test(arguments: [(32, 112 * 112), (1152, 49), (20, 9)])
    func matchesChannelMeans(_ sizes: (channels: Int, pixels: Int)) throws {
        let context = try DNNLContext()
        let x = SeededInput.uniform([sizes.pixels * sizes.channels], seed: 96).data
        var expected = [Float](repeating: 0, count: sizes.channels)
        var split = [Float](repeating: 1, count: sizes.channels)
        var ran = false
        let pooling = PixelSplitPooling(channels: sizes.channels, slots: 2)
        x.withUnsafeBufferPointer { x in
            NHWCKernels.channelMeans(x.baseAddress!, pixels: sizes.pixels, channels: sizes.channels, into: &expected,
                                     avx2: context.hasAVX2)
            OpenMPLane.shared(0).run {
                OpenMPThreads.apply(2)
                ran = pooling.runSplit(x.baseAddress!, pixels: sizes.pixels, into: &split, avx2: context.hasAVX2, threads: 2)
            }
        }
        try #require(ran, "libgomp's entry points were not found: the split did not run")
        let worst = zip(split, expected).map { abs($0 - $1) }.max() ?? 0
        #expect(worst < 1e-5, "\(sizes): \(worst)")
    }
}
