import Testing
@testable import DyServe

@Suite struct V2RouteTests {
    @Test func matchesEveryEndpoint() throws {
        #expect(try V2Route.match(method: "GET", path: "/v2") == .serverMetadata)
        #expect(try V2Route.match(method: "GET", path: "/v2/") == .serverMetadata)
        #expect(try V2Route.match(method: "GET", path: "/v2/health/live") == .live)
        #expect(try V2Route.match(method: "HEAD", path: "/v2/health/ready") == .ready)
        #expect(try V2Route.match(method: "GET", path: "/v2/models/stats") == .statistics(model: nil, version: nil))
        #expect(try V2Route.match(method: "GET", path: "/v2/models/m") == .modelMetadata(model: "m", version: nil))
        #expect(try V2Route.match(method: "GET", path: "/v2/models/m/versions/3") == .modelMetadata(model: "m", version: "3"))
        #expect(try V2Route.match(method: "GET", path: "/v2/models/m/ready") == .modelReady(model: "m", version: nil))
        #expect(try V2Route.match(method: "GET", path: "/v2/models/m/versions/1/ready") == .modelReady(model: "m", version: "1"))
        #expect(try V2Route.match(method: "POST", path: "/v2/models/m/infer") == .infer(model: "m", version: nil))
        #expect(try V2Route.match(method: "POST", path: "/v2/models/m/versions/1/infer") == .infer(model: "m", version: "1"))
        #expect(try V2Route.match(method: "GET", path: "/v2/models/m/stats") == .statistics(model: "m", version: nil))
        #expect(try V2Route.match(method: "GET", path: "/v2/models/m/versions/2/stats") == .statistics(model: "m", version: "2"))
        #expect(try V2Route.match(method: "GET", path: "/v2/models/m/config") == .modelConfig(model: "m", version: nil))
        #expect(try V2Route.match(method: "GET", path: "/v2/models/m/versions/2/config") == .modelConfig(model: "m", version: "2"))
        #expect(try V2Route.match(method: "POST", path: "/v2/repository/index") == .repositoryIndex)
        #expect(try V2Route.match(method: "POST", path: "/v2/repository/models/m/load") == .repositoryLoad(model: "m"))
        #expect(try V2Route.match(method: "POST", path: "/v2/repository/models/m/unload") == .repositoryUnload(model: "m"))
    }

    @Test func unknownPathsAre404AndWrongMethods405() {
        for path in ["/v2/health", "/v2/health/dead", "/v2/models", "/v2/models/m/infer/x", "/v2/models/m/versions",
                     "/v2/models/m/versions/1/explain", "/v2/repository", "/v2/repository/models/m", "/v2/repository/models/m/reload", "/v2x"] {
            #expect(status { _ = try V2Route.match(method: "GET", path: path) } == 404, "\(path)")
        }
        #expect(status { _ = try V2Route.match(method: "GET", path: "/v2/models/m/infer") } == 405)
        #expect(status { _ = try V2Route.match(method: "POST", path: "/v2/health/live") } == 405)
        #expect(status { _ = try V2Route.match(method: "GET", path: "/v2/repository/index") } == 405)
        #expect(status { _ = try V2Route.match(method: "POST", path: "/v2/models/m/config") } == 405)
        #expect(requestError { try V2Route.match(method: "DELETE", path: "/v2") }?.message.contains("use GET") == true)
    }

    @Test func ownsOnlyV2Paths() {
        #expect(V2Route.owns("/v2") && V2Route.owns("/v2/models/x"))
        #expect(!V2Route.owns("/v2x") && !V2Route.owns("/infer") && !V2Route.owns("/"))
    }
}
