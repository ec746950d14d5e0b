/// What an API key may do. Each endpoint needs one scope, or none (`AuthRequirement.open`).
public enum AuthScope: String, Sendable, CaseIterable, Comparable {
    /// `POST /infer` and `POST /v2/models/{m}/infer`.
    case inference
    /// What the service learned about requests: `GET /attention`, trace outputs of an inference
    /// (`return_trace`, V2 `trace`), and by default the attention explorer's files.
    case introspection
    /// Changing what is served: `/v2/repository/...` (index, load, unload).
    case admin

    public static func < (a: AuthScope, b: AuthScope) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// The scope names, for messages: "inference, introspection, admin".
    static let namesList = allCases.map(\.rawValue).joined(separator: ", ")
}

/// What an endpoint asks of a request when authentication is on.
public enum AuthRequirement: Sendable, Equatable, CustomStringConvertible {
    /// Answered without a key (health probes, and what the configuration opens).
    case open
    /// Needs a key that has this scope.
    case scope(AuthScope)

    /// `open` or a scope name, as written in the configuration (`auth.metrics: open`).
    init?(configText: String) {
        if configText == "open" {
            self = .open
        } else if let scope = AuthScope(rawValue: configText) {
            self = .scope(scope)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .open: "open"
        case .scope(let scope): scope.rawValue
        }
    }
}
