import CDNNL
import Foundation
@testable import DyNN
import Testing

/// Which C kernels the fast engine runs. scripts/portable-kernels-test.sh builds with
/// DYSERVE_PORTABLE_KERNELS and sets DYSERVE_EXPECT_PORTABLE_KERNELS=1, so the fast tests of that run
/// check the portable loops against the reference; this test proves the define took effect.
@Suite struct PortableKernelsTests {
    @Test func theEngineUsesTheKernelsTheBuildAsksFor() throws {
        let context = try DNNLContext()
        if ProcessInfo.processInfo.environment["DYSERVE_EXPECT_PORTABLE_KERNELS"] == "1" {
            #expect(dy_avx2_kernels_enabled() == 0)
            #expect(!context.hasAVX2, "a portable build never passes avx2 to the kernels")
        } else {
            #if arch(x86_64)
            #expect(dy_avx2_kernels_enabled() == 1)
            #expect(context.hasAVX2 == (dnnl_get_effective_cpu_isa().rawValue >= dnnl_cpu_isa_avx2.rawValue))
            #else
            #expect(dy_avx2_kernels_enabled() == 0 && !context.hasAVX2)
            #endif
        }
    }
}
