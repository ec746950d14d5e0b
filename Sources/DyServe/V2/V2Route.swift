/// The Open Inference Protocol (KServe v2) endpoints, matched segment by segment:
/// `GET /v2`, `GET /v2/health/{live,ready}`, `GET /v2/models/stats`,
/// `GET /v2/models/{m}[/versions/{v}]`, `GET .../ready`, `GET .../config`, `POST .../infer`, `GET .../stats`.
enum V2Route: Equatable, Sendable {
    case serverMetadata
    case live
    case ready
    case modelMetadata(model: String, version: String?)
    case modelReady(model: String, version: String?)
    case modelConfig(model: String, version: String?)
    case infer(model: String, version: String?)
    /// nil model: every configured model.
    case statistics(model: String?, version: String?)
    case repositoryIndex
    case repositoryLoad(model: String)
    case repositoryUnload(model: String)

    /// Whether the path belongs to this API (everything under `/v2`).
    static func owns(_ path: String) -> Bool {
        path == "/v2" || path.hasPrefix("/v2/")
    }

    static let endpointList = "GET /v2, GET /v2/health/live, GET /v2/health/ready, GET /v2/models/stats, "
        + "GET /v2/models/{m}[/versions/{v}], GET /v2/models/{m}[/versions/{v}]/ready, "
        + "GET /v2/models/{m}[/versions/{v}]/config, "
        + "POST /v2/models/{m}[/versions/{v}]/infer, GET /v2/models/{m}[/versions/{v}]/stats, "
        + "POST /v2/repository/index, POST /v2/repository/models/{m}/load, POST /v2/repository/models/{m}/unload"

    /// The route for a `/v2` path, or the 404/405 the client should get.
    static func match(method: String, path: String) throws(RequestError) -> V2Route {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard let route = route(segments) else {
            throw .notFound("no such path \(path); V2 endpoints: \(endpointList)")
        }
        // HEAD is GET without a body, as on the simple API.
        let effective = method == "HEAD" ? "GET" : method
        guard route.methods.contains(effective) else {
            throw .methodNotAllowed(method: method, path: path, allowed: route.methods)
        }
        return route
    }

    private static func route(_ s: [String]) -> V2Route? {
        guard s.first == "v2" else { return nil }
        switch s.count {
        case 1: return .serverMetadata
        case 3 where s[1] == "health" && s[2] == "live": return .live
        case 3 where s[1] == "health" && s[2] == "ready": return .ready
        case 3 where s[1] == "models" && s[2] == "stats": return .statistics(model: nil, version: nil)
        case 3 where s[1] == "repository" && s[2] == "index": return .repositoryIndex
        case 5 where s[1] == "repository" && s[2] == "models" && s[4] == "load": return .repositoryLoad(model: s[3])
        case 5 where s[1] == "repository" && s[2] == "models" && s[4] == "unload": return .repositoryUnload(model: s[3])
        default: break
        }
        guard s.count >= 3, s[1] == "models" else { return nil }
        let model = s[2]
        var rest = Array(s[3...])
        var version: String?
        if rest.count >= 2, rest[0] == "versions" {
            version = rest[1]
            rest.removeFirst(2)
        }
        switch rest {
        case []: return .modelMetadata(model: model, version: version)
        case ["ready"]: return .modelReady(model: model, version: version)
        case ["config"]: return .modelConfig(model: model, version: version)
        case ["infer"]: return .infer(model: model, version: version)
        case ["stats"]: return .statistics(model: model, version: version)
        default: return nil
        }
    }

    var methods: [String] {
        switch self {
        case .infer, .repositoryIndex, .repositoryLoad, .repositoryUnload: ["POST"]
        default: ["GET"]
        }
    }

    /// Label for the per-route HTTP metric: a fixed set, never a model name from the path.
    var metricName: String {
        switch self {
        case .serverMetadata: "v2"
        case .live: "v2_health_live"
        case .ready: "v2_health_ready"
        case .modelMetadata: "v2_model_metadata"
        case .modelReady: "v2_model_ready"
        case .modelConfig: "v2_model_config"
        case .infer: "v2_infer"
        case .statistics: "v2_stats"
        case .repositoryIndex: "v2_repository_index"
        case .repositoryLoad: "v2_repository_load"
        case .repositoryUnload: "v2_repository_unload"
        }
    }
}
