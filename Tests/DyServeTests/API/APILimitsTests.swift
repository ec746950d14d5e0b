import Testing
@testable import DyServe

@Suite struct APILimitsTests {
    @Test func builtFromTheServiceConfig() {
        var config = ServiceConfig()
        config.limits = ServiceConfig.Limits(maxBodyBytes: 1000, maxTensorElements: 50, maxJSONDepth: 9)
        config.attentionStore = ServiceConfig.AttentionStore(maxEntries: 7, maxBytes: 4096)
        #expect(APILimits(config) == APILimits(maxBodyBytes: 1000, maxTensorElements: 50, maxJSONDepth: 9))
        #expect(TraceStoreLimits(config) == TraceStoreLimits(maxEntries: 7, maxBytes: 4096))
    }
}
