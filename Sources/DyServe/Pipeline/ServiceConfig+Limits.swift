/// The API's settings from the service configuration, so the serve command only wires.
extension APILimits {
    public init(_ config: ServiceConfig) {
        self.init(maxBodyBytes: config.limits.maxBodyBytes, maxTensorElements: config.limits.maxTensorElements,
                  maxJSONDepth: config.limits.maxJSONDepth)
    }
}

extension TraceStoreLimits {
    public init(_ config: ServiceConfig) {
        self.init(maxEntries: config.attentionStore.maxEntries, maxBytes: config.attentionStore.maxBytes,
                  maxRecordBytes: config.attentionStore.maxRecordBytes)
    }
}
