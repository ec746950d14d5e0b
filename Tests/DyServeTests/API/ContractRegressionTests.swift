import Testing
@testable import DyServe

/// Answers schemathesis (scripts/schemathesis.sh) found out of line with docs/openapi.json.
@Suite struct ContractRegressionTests {
    /// A repository call's body is empty or a JSON object: a body of whitespace alone is not JSON
    /// and was taken as `{}` (a 200 for a load whose body was "\r").
    @Test func whitespaceAloneIsNotAnEmptyRepositoryBody() {
        for body in ["\r", " ", "\n\t"] {
            #expect(throws: RequestError.self) {
                try V2RepositoryRoutes.checkLoadOrUnloadRequest(Array(body.utf8), maxDepth: 8, unloading: false)
            }
            #expect(throws: RequestError.self) {
                try V2RepositoryRoutes.decodeIndexRequest(Array(body.utf8), maxDepth: 8)
            }
        }
        #expect(throws: Never.self) { try V2RepositoryRoutes.checkLoadOrUnloadRequest([], maxDepth: 8, unloading: true) }
        #expect((try? V2RepositoryRoutes.decodeIndexRequest([], maxDepth: 8)) == false)
        #expect((try? V2RepositoryRoutes.decodeIndexRequest(Array(" {\"ready\": true} ".utf8), maxDepth: 8)) == true)
    }
}
