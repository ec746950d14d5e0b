import Testing
@testable import DyServe

@Suite struct RouterTests {
    @Test func matchesEveryEndpoint() throws {
        #expect(try Router.match(method: "POST", path: "/infer") == .infer)
        #expect(try Router.match(method: "GET", path: "/attention") == .attention)
        #expect(try Router.match(method: "GET", path: "/healthz") == .healthz)
        #expect(try Router.match(method: "GET", path: "/readyz") == .readyz)
        #expect(try Router.match(method: "GET", path: "/models/") == .models)
        #expect(try Router.match(method: "GET", path: "/metrics") == .metrics)
        #expect(try Router.match(method: "HEAD", path: "/healthz") == .healthz)
        #expect((try? Router.match(method: "HEAD", path: "/infer")) == nil)
    }

    @Test(arguments: ["/", "/inferx", "/v2/models", "//", "/infer/extra", "", "/%00"])
    func unknownPathsAre404(_ path: String) {
        let error = #expect(throws: RequestError.self) { try Router.match(method: "GET", path: path) }
        #expect(error?.status == 404)
    }

    @Test func wrongMethodIs405WithAllow() {
        let error = #expect(throws: RequestError.self) { try Router.match(method: "GET", path: "/infer") }
        #expect(error?.status == 405)
        #expect(error?.extraHeaders.first?.name == "Allow")
        #expect(error?.extraHeaders.first?.value == "POST")
        #expect((try? Router.match(method: "DELETE", path: "/metrics")) == nil)
    }
}
