/// The model repository extension's wire format:
/// `POST /v2/repository/index` with an optional `{"ready": bool}` body answers
/// `[{"name", "version"?, "state", "reason"}]`; `POST /v2/repository/models/{m}/load` and
/// `.../unload` take an empty body or `{}` (Triton's per-load config and file overrides are not
/// supported, and saying so beats ignoring them; an unload may carry `unload_dependents`, which
/// tritonclient always sends and which has nothing to act on here: no model depends on another)
/// and answer `{"name", "state"}` once done.
enum V2RepositoryRoutes {
    /// The index request's `ready` filter: true lists only the models that serve.
    static func decodeIndexRequest(_ body: [UInt8], maxDepth: Int) throws(RequestError) -> Bool {
        var readyOnly = false
        for (key, value) in try members(of: body, maxDepth: maxDepth, what: "the index request") {
            guard key == "ready" else {
                throw .badRequest("unknown field \"\(key)\" in the index request; expected ready")
            }
            guard case .bool(let b) = value else {
                throw .badRequest("ready is \(value.kindName); expected a boolean")
            }
            readyOnly = b
        }
        return readyOnly
    }

    /// Load and unload bodies carry nothing this server acts on; anything else in them is refused.
    static func checkLoadOrUnloadRequest(_ body: [UInt8], maxDepth: Int, unloading: Bool) throws(RequestError) {
        for (key, value) in try members(of: body, maxDepth: maxDepth, what: "the request") {
            guard key == "parameters", case .object(let parameters) = value else {
                throw .badRequest("\"\(key)\" is not supported here; expected only parameters")
            }
            for (name, parameter) in parameters {
                if unloading, name == "unload_dependents" {
                    guard case .bool = parameter else {
                        throw .badRequest("parameters.unload_dependents is \(parameter.kindName); expected a boolean")
                    }
                    continue
                }
                throw .badRequest("parameters.\(name) is not supported: models load from their folder as it is (no config or file overrides)")
            }
        }
    }

    static func encodeIndex(_ entries: [ModelRepository.Entry]) -> [UInt8] {
        var w = JSONWriter()
        w.beginArray()
        for e in entries {
            w.beginObject()
            w.key("name"); w.string(e.name)
            if let version = e.version { w.key("version"); w.string(version) }
            w.key("state"); w.string(e.state)
            w.key("reason"); w.string(e.reason)
            w.endObject()
        }
        w.endArray()
        return w.bytes
    }

    static func encodeState(name: String, state: String) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("name"); w.string(name)
        w.key("state"); w.string(state)
        w.endObject()
        return w.bytes
    }

    /// An empty body is an empty object; anything else must be JSON (whitespace alone is not).
    private static func members(of body: [UInt8], maxDepth: Int, what: String) throws(RequestError) -> [(key: String, value: ParsedJSON)] {
        guard !body.isEmpty else { return [] }
        var reader = JSONReader(bytes: body, maxDepth: maxDepth)
        let value: ParsedJSON
        do {
            value = try reader.readValue(depth: 0)
            try reader.expectEnd()
        } catch {
            throw .badRequest("\(what): \(error.description)")
        }
        guard case .object(let members) = value else {
            throw .badRequest("\(what) is \(value.kindName); expected a JSON object")
        }
        return members
    }
}
