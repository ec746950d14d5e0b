/// The service's endpoints, matched on exact paths.
public enum Route: String, Sendable, CaseIterable {
    case infer = "/infer"
    case attention = "/attention"
    case healthz = "/healthz"
    case readyz = "/readyz"
    case models = "/models"
    case metrics = "/metrics"
    case openapi = "/openapi.json"

    /// Methods each path answers.
    var methods: [String] {
        switch self {
        case .infer: ["POST"]
        case .attention, .healthz, .readyz, .models, .metrics, .openapi: ["GET"]
        }
    }

    /// Label for per-route metrics: a fixed set, never the raw path.
    var metricName: String { String(rawValue.dropFirst()) }
}

/// Maps a method and path to a route, or to the 404/405 the client should get.
public enum Router {
    public static func match(method: String, path: String) throws(RequestError) -> Route {
        // A trailing slash is a common slip; "/models/" means "/models".
        var normalized = path
        while normalized.count > 1 && normalized.hasSuffix("/") { normalized.removeLast() }
        guard let route = Route(rawValue: normalized) else {
            throw .notFound("no such path \(path); endpoints: "
                + Route.allCases.map { "\($0.methods.joined(separator: "|")) \($0.rawValue)" }.joined(separator: ", "))
        }
        // HEAD is GET without a body (the server drops it), so `curl -I` works on every GET route.
        let effective = method == "HEAD" ? "GET" : method
        guard route.methods.contains(effective) else {
            throw .methodNotAllowed(method: method, path: route.rawValue, allowed: route.methods)
        }
        return route
    }
}
