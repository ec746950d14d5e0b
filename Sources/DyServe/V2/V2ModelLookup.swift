/// Finds the model a V2 path names: 404 for an unknown model or a version it does not serve,
/// 503 while it loads, failed to load, or the server is stopping.
enum V2ModelLookup {
    static func model(_ name: String, version: String?, in registry: ModelRegistry) throws(RequestError) -> any ServableModel {
        let model = try registry.model(named: name)
        if let version, version != model.info.version {
            throw .notFound("model \"\(name)\" has no version \"\(version)\"; it serves version \"\(model.info.version)\"")
        }
        return model
    }
}
