import Testing
@testable import DyServe

@Suite struct HTTPMessageTests {
    @Test func requestDefaultsAreEmpty() {
        let r = HTTPRequest(method: "GET", path: "/healthz")
        #expect(r.query.isEmpty && r.headers.isEmpty && r.body.isEmpty)
    }
}
