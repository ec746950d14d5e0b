/// The request bounds the API enforces, built from the config's `limits` section by the serve command.
public struct APILimits: Sendable, Equatable {
    /// The JSON reader recurses once per nesting level; this cap keeps that recursion small
    /// whatever the configuration says.
    public static let hardMaxJSONDepth = 512

    public var maxBodyBytes: Int
    public var maxTensorElements: Int
    public var maxJSONDepth: Int
    /// Classes reported per sample when the request does not say.
    public var defaultTopK: Int
    /// Most entries `GET /attention` lists.
    public var maxListedTraces: Int

    public init(maxBodyBytes: Int = 64 << 20, maxTensorElements: Int = 16_777_216, maxJSONDepth: Int = 64,
                defaultTopK: Int = 5, maxListedTraces: Int = 1000) {
        self.maxBodyBytes = maxBodyBytes
        self.maxTensorElements = maxTensorElements
        self.maxJSONDepth = min(max(maxJSONDepth, 2), Self.hardMaxJSONDepth)
        self.defaultTopK = max(defaultTopK, 1)
        self.maxListedTraces = max(maxListedTraces, 1)
    }
}
