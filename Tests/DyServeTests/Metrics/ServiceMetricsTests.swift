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

    @Test func residentMemoryIsReadOnLinux() {
        #if os(Linux)
        #expect((ProcessStats.residentMemoryBytes() ?? 0) > 1 << 20)
        #endif
    }
}
