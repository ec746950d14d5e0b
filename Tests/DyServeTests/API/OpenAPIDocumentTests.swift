import Foundation
import Testing
@testable import DyServe

/// The contract served at `GET /openapi.json` is docs/openapi.json byte for byte, and it documents
/// every route the server matches, with the methods it answers.
@Suite struct OpenAPIDocumentTests {
    /// docs/openapi.json in the repository, found from this file's path.
    static let committed: [UInt8] = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()  // API
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let url = root.appendingPathComponent("docs/openapi.json")
        return (try? Array(Data(contentsOf: url))) ?? []
    }()

    static func paths() throws -> [String: [String: Any]] {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(committed)) as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        return try #require(document["paths"] as? [String: [String: Any]])
    }

    @Test func servedDocumentIsTheCommittedFile() {
        #expect(!Self.committed.isEmpty, "docs/openapi.json not found")
        let response = APIHarness().get("/openapi.json")
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "application/json")
        #expect(response.body == Self.committed, "docs/openapi.json changed: run scripts/openapi-embed.sh")
    }

    @Test func everySimpleRouteIsDocumentedWithItsMethods() throws {
        let paths = try Self.paths()
        for route in Route.allCases {
            let operations = try #require(paths[route.rawValue], "\(route.rawValue) is not in docs/openapi.json")
            #expect(Set(operations.keys.map { $0.uppercased() }) == Set(route.methods), "\(route.rawValue)")
        }
        for path in ExplorerAssets.byPath.keys {
            #expect(paths[path]?.keys.sorted() == ["get"], "\(path) is not documented")
        }
    }

    /// Each documented path, with its parameters filled in, reaches a route answering the
    /// documented method, and every V2 route (each case of `V2Route`) has a documented path.
    @Test func everyDocumentedPathIsRoutedAndEveryV2RouteIsDocumented() throws {
        let paths = try Self.paths()
        var v2Routes: [String] = []
        for (template, operations) in paths {
            let path = template.replacingOccurrences(of: "{model}", with: "m").replacingOccurrences(of: "{version}", with: "1")
            for method in operations.keys.map({ $0.uppercased() }) {
                if V2Route.owns(path) {
                    let route = try V2Route.match(method: method, path: path)
                    v2Routes.append(route.metricName + (path.contains("/versions/") ? "+version" : ""))
                } else if ExplorerRoute.owns(path) {
                    #expect(method == "GET")
                    #expect(ExplorerAssets.byPath[path] != nil, "\(path) is not an explorer file")
                } else {
                    _ = try Router.match(method: method, path: path)
                }
            }
        }
        let expected = ["v2", "v2_health_live", "v2_health_ready", "v2_model_metadata", "v2_model_ready",
                        "v2_model_config", "v2_infer", "v2_stats", "v2_repository_index",
                        "v2_repository_load", "v2_repository_unload"]
        let versioned = ["v2_model_metadata", "v2_model_ready", "v2_model_config", "v2_infer", "v2_stats"].map { $0 + "+version" }
        #expect(Set(v2Routes) == Set(expected + versioned))
        #expect(v2Routes.count == expected.count + versioned.count + 1)  // stats: all models and one model
    }
}
