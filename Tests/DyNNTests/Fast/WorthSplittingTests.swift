@testable import DyNN
import Testing

/// When the fast path splits work across OpenMP threads: only when the split saves more than the parallel
/// region costs, which depends on whether idle threads spin or sleep.
@Suite struct WorthSplittingTests {
    @Test func spinningThreadsSplitSmallWorkSleepingOnesOnlyLargeWork() {
        // An fp32 bank of 55k elements (a 14x14 layer of dy-mobilenetv2): 0.2 ns saved per element.
        #expect(OpenMPThreads.worthSplitting(55_296, savedPerElement: 0.2, floor: 16_384, regionNanoseconds: 2_000))
        #expect(!OpenMPThreads.worthSplitting(55_296, savedPerElement: 0.2, floor: 16_384, regionNanoseconds: 40_000))
        #expect(OpenMPThreads.worthSplitting(614_400, savedPerElement: 0.2, floor: 16_384, regionNanoseconds: 40_000))
        // Never below the floor, however cheap the region; never without regions.
        #expect(!OpenMPThreads.worthSplitting(16_383, savedPerElement: 0.2, floor: 16_384, regionNanoseconds: 1))
        #expect(!OpenMPThreads.worthSplitting(1 << 30, savedPerElement: 0.2, floor: 16_384, regionNanoseconds: Int.max))
    }

    @Test func regionCostIsMeasured() {
        #expect(OpenMPThreads.regionNanoseconds > 0)
    }
}
