/// The configurable part of what endpoints need (`auth.metrics`, `auth.metadata`, `auth.explorer`);
/// the route -> requirement table that uses it is `AuthPolicy+Routes.swift` in API/, where the
/// routes of both protocols are known.
public struct AuthPolicy: Sendable, Equatable {
    /// `auth.metrics`: `GET /metrics` and `GET /v2/models[/{m}]/stats`.
    public var metrics: AuthRequirement
    /// `auth.metadata`: `GET /models`, `GET /v2`, and a model's V2 metadata, readiness and configuration.
    public var metadata: AuthRequirement
    /// `auth.explorer`: the attention explorer's page and files (`GET /`, `GET /explorer/...`).
    public var explorer: AuthRequirement

    public init(metrics: AuthRequirement = .scope(.introspection), metadata: AuthRequirement = .scope(.inference),
                explorer: AuthRequirement = .scope(.introspection)) {
        self.metrics = metrics
        self.metadata = metadata
        self.explorer = explorer
    }
}
