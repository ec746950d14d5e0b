/// The request bounds the API enforces, built from the config's `limits` section by the serve command.
public struct APILimits: Sendable, Equatable {
    public var maxBodyBytes: Int
    public var maxTensorElements: Int
    /// Deepest JSON nesting a request body may have; the configuration bounds it
    /// (`ServiceConfig.Limits.maxJSONDepthRange`) because the JSON reader recurses once per level.
    public var maxJSONDepth: Int
    /// Classes reported per sample when the request does not say.
    public var defaultTopK: Int
    /// Most entries `GET /attention` lists.
    public var maxListedTraces: Int

    /// The body, tensor and depth defaults are the `limits` section's (`ServiceConfig.Limits`).
    public init(maxBodyBytes: Int = ServiceConfig.Limits().maxBodyBytes,
                maxTensorElements: Int = ServiceConfig.Limits().maxTensorElements,
                maxJSONDepth: Int = ServiceConfig.Limits().maxJSONDepth,
                defaultTopK: Int = 5, maxListedTraces: Int = 1000) {
        precondition(ServiceConfig.Limits.maxJSONDepthRange.contains(maxJSONDepth),
                     "maxJSONDepth \(maxJSONDepth) is outside \(ServiceConfig.Limits.maxJSONDepthRange)")
        precondition(defaultTopK >= 1 && maxListedTraces >= 1)
        self.maxBodyBytes = maxBodyBytes
        self.maxTensorElements = maxTensorElements
        self.maxJSONDepth = maxJSONDepth
        self.defaultTopK = defaultTopK
        self.maxListedTraces = maxListedTraces
    }
}
