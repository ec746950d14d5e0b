import Testing
@testable import DyServe

/// The route -> requirement table over every route of both APIs, the explorer and unknown paths,
/// and each route answered through the real handler with no key and with each scope's key.
@Suite struct AuthPolicyTests {
    /// One request per route. The V2 list names every `V2Route` case (checked by `expected`,
    /// whose switch has no default, and by matching each path back to its route).
    static func everyRoute(_ policy: AuthPolicy) -> [(method: String, path: String, requirement: AuthRequirement)] {
        var rows: [(String, String, AuthRequirement)] = Route.allCases.map { route in
            let expected: AuthRequirement = switch route {
            case .healthz, .readyz: .open
            case .infer: .scope(.inference)
            case .attention: .scope(.introspection)
            case .models, .openapi: policy.metadata
            case .metrics: policy.metrics
            }
            return (route.methods[0], route.rawValue, expected)
        }
        let v2: [(String, String, V2Route)] = [
            ("GET", "/v2", .serverMetadata),
            ("GET", "/v2/health/live", .live),
            ("GET", "/v2/health/ready", .ready),
            ("GET", "/v2/models/test", .modelMetadata(model: "test", version: nil)),
            ("GET", "/v2/models/test/versions/1", .modelMetadata(model: "test", version: "1")),
            ("GET", "/v2/models/test/ready", .modelReady(model: "test", version: nil)),
            ("GET", "/v2/models/test/config", .modelConfig(model: "test", version: nil)),
            ("POST", "/v2/models/test/infer", .infer(model: "test", version: nil)),
            ("POST", "/v2/models/test/versions/1/infer", .infer(model: "test", version: "1")),
            ("GET", "/v2/models/stats", .statistics(model: nil, version: nil)),
            ("GET", "/v2/models/test/stats", .statistics(model: "test", version: nil)),
            ("POST", "/v2/repository/index", .repositoryIndex),
            ("POST", "/v2/repository/models/test/load", .repositoryLoad(model: "test")),
            ("POST", "/v2/repository/models/test/unload", .repositoryUnload(model: "test")),
        ]
        for (method, path, route) in v2 {
            #expect((try? V2Route.match(method: method, path: path)) == route, "\(path)")
            rows.append((method, path, expected(route, policy)))
        }
        for path in ExplorerAssets.byPath.keys.sorted() + ["/explorer", "/explorer/missing.js"] {
            rows.append(("GET", path, policy.explorer))
        }
        // No route: administrators only, so nothing unlisted is ever open.
        for (method, path) in [("GET", "/nope"), ("GET", "/v2/nope"), ("POST", "/v2/models/test/explain"),
                               ("GET", "/infer/x"), ("DELETE", "/models/x"), ("GET", "/healthz/../attention")] {
            rows.append((method, path, .scope(.admin)))
        }
        return rows
    }

    static func expected(_ route: V2Route, _ policy: AuthPolicy) -> AuthRequirement {
        switch route {
        case .live, .ready: .open
        case .infer: .scope(.inference)
        case .serverMetadata, .modelMetadata, .modelReady, .modelConfig: policy.metadata
        case .statistics: policy.metrics
        case .repositoryIndex, .repositoryLoad, .repositoryUnload: .scope(.admin)
        }
    }

    static let policies = [
        AuthPolicy(),
        AuthPolicy(metrics: .open, metadata: .open, explorer: .open),
        AuthPolicy(metrics: .scope(.admin), metadata: .scope(.introspection), explorer: .scope(.inference)),
    ]

    @Test(arguments: policies) func tableCoversEveryRoute(policy: AuthPolicy) {
        for row in Self.everyRoute(policy) {
            #expect(policy.requirement(method: row.method, path: row.path) == row.requirement, "\(row.method) \(row.path)")
        }
    }

    @Test func defaultsCloseEverythingButHealth() {
        let open = Self.everyRoute(AuthPolicy()).filter { $0.requirement == .open }.map(\.path)
        #expect(Set(open) == ["/healthz", "/readyz", "/v2/health/live", "/v2/health/ready"])
    }

    @Test func aRouteAskedWithAnotherMethodKeepsItsRequirement() {
        let policy = AuthPolicy()
        #expect(policy.requirement(method: "GET", path: "/infer") == .scope(.inference))
        #expect(policy.requirement(method: "PUT", path: "/v2/repository/index") == .scope(.admin))
        #expect(policy.requirement(method: "DELETE", path: "/healthz") == .open)
        #expect(policy.requirement(method: "GET", path: "/models/") == policy.metadata)
    }

    /// Through the handler: no key -> 401 on every closed route, a key without the scope -> 403,
    /// a key with it -> whatever the route answers (never 401/403); open routes answer anyone.
    @Test(arguments: policies) func everyRouteThroughTheHandler(policy: AuthPolicy) throws {
        let api = APIHarness()
        defer { api.pool?.shutdown() }
        let handler = api.guarded(by: try TestKeys.gate(policy))
        for row in Self.everyRoute(policy) {
            let label = "\(row.method) \(row.path)"
            let anonymous = call(handler, row.method, row.path)
            guard case .scope(let required) = row.requirement else {
                #expect(![401, 403].contains(anonymous.status), "\(label): \(anonymous.text)")
                #expect(![401, 403].contains(call(handler, row.method, row.path, key: "not-a-configured-key-000").status), "\(label)")
                continue
            }
            #expect(anonymous.status == 401, "\(label): \(anonymous.text)")
            #expect(anonymous.header("WWW-Authenticate") == "Bearer realm=\"dyserve\", scope=\"\(required.rawValue)\"", "\(label)")
            for scope in AuthScope.allCases {
                let r = call(handler, row.method, row.path, key: TestKeys.key(for: scope))
                if scope == required {
                    #expect(![401, 403].contains(r.status), "\(label) with \(scope): \(r.text)")
                } else {
                    #expect(r.status == 403, "\(label) with \(scope): \(r.text)")
                }
            }
            let all = call(handler, row.method, row.path, key: TestKeys.all)
            #expect(![401, 403].contains(all.status), "\(label) with every scope: \(all.text)")
        }
    }
}
