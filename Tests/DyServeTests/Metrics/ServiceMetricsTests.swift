import Foundation
import Testing
@testable import DyServe

@Suite struct ServiceMetricsTests {
    @Test func eachInstanceOwnsItsRegistry() {
        let a = ServiceMetrics(modelNames: ["m"])
        let b = ServiceMetrics(modelNames: ["m"])
        a.model("m").requests(code: 200).increment()
        a.model("m").requests(code: 200).increment()
        a.countHTTP(route: "infer", code: 200)
        let textA = String(decoding: a.render(store: nil, ready: true), as: UTF8.self)
        let textB = String(decoding: b.render(store: nil, ready: false), as: UTF8.self)
        #expect(textA.contains(#"dyserve_requests_total{model="m",code="200"} 2"#))
        #expect(!textB.contains("dyserve_requests_total{"))
        #expect(textB.contains("dyserve_ready 0"))
    }

    @Test func configuredModelsAppearAtZeroAndDurationsAreInSeconds() {
        let m = ServiceMetrics(modelNames: ["digits"])
        m.model("digits").computeDuration.recordNanoseconds(1_500_000)
        let text = String(decoding: m.render(store: TraceStore(limits: TraceStoreLimits()), ready: true), as: UTF8.self)
        #expect(text.contains(#"dyserve_inferences_total{model="digits"} 0"#))
        #expect(text.contains(#"dyserve_attention_store_entries{model="digits"} 0"#))
        #expect(text.contains(#"dyserve_compute_duration_seconds_bucket{model="digits",le="0.001"} 0"#))
        #expect(text.contains(#"dyserve_compute_duration_seconds_bucket{model="digits",le="0.0025"} 1"#))
        #expect(text.contains(#"dyserve_compute_duration_seconds_sum{model="digits"} 0.0015"#))
    }

    @Test func referenceFallbacksAreAGaugePerModel() {
        let m = ServiceMetrics(modelNames: ["digits"])
        m.recordReferenceFallbacks("digits", nodes: 2)
        m.recordReferenceFallbacks("digits", nodes: 3)  // a reload replaces the figure
        let text = String(decoding: m.render(store: nil, ready: true), as: UTF8.self)
        #expect(text.contains(#"dyserve_model_reference_fallback_nodes{model="digits"} 3"#))
    }

    /// The standard names and plausible values: a test process holds more than a MiB, has used
    /// some CPU, started before now and not before 2020, and has stdin/out/err open.
    @Test func standardProcessMetricsAreReadOnLinux() throws {
        #if os(Linux)
        #expect((ProcessStats.residentMemoryBytes() ?? 0) > 1 << 20)
        #expect((ProcessStats.virtualMemoryBytes() ?? 0) >= (ProcessStats.residentMemoryBytes() ?? .max))
        #expect((ProcessStats.cpuSeconds() ?? 0) > 0)
        let start = try #require(ProcessStats.startTimeSeconds())
        #expect(start > 1_577_836_800 && start <= Date().timeIntervalSince1970 + 1)
        let open = try #require(ProcessStats.openFileDescriptors())
        #expect(open >= 3)
        #expect((ProcessStats.maxFileDescriptors() ?? .max) >= open)

        let text = String(decoding: ServiceMetrics().render(store: nil, ready: true), as: UTF8.self)
        for name in ["process_resident_memory_bytes", "process_virtual_memory_bytes", "process_cpu_seconds_total",
                     "process_start_time_seconds", "process_open_fds"] {
            #expect(text.contains("\n\(name) "), "\(name) missing from\n\(text)")
        }
        #expect(text.contains("# TYPE process_cpu_seconds_total counter"))
        #expect(!text.contains("dyserve_resident_memory_bytes"))
        #endif
    }
}
