import Foundation
@testable import DyServe

/// Keys for the gate tests, one per scope and one with all of them.
enum TestKeys {
    static let inference = "inference-key-0123456789"
    static let introspection = "introspection-key-0123456789"
    static let admin = "admin-key-0123456789abcdef"
    static let all = "all-scopes-key-0123456789"

    static let file = """
        # dyserve API keys: <key> <scope>[,<scope>...]
        \(inference) inference
        \(introspection) introspection
        \(admin)   admin   # operators
        \(all) inference,introspection,admin
        """

    static func gate(_ policy: AuthPolicy = AuthPolicy()) throws -> AuthGate {
        AuthGate(keys: try APIKeyParser.parseFile(file), policy: policy)
    }

    /// The key holding exactly `scope`.
    static func key(for scope: AuthScope) -> String {
        switch scope {
        case .inference: inference
        case .introspection: introspection
        case .admin: admin
        }
    }
}

extension APIHarness {
    /// A handler over the same context with `gate` in front of it.
    func guarded(by gate: AuthGate) -> APIHandler {
        var context = context
        context.auth = gate
        return APIHandler(context: context)
    }
}

func call(_ handler: APIHandler, _ method: String, _ path: String, key: String? = nil,
          authorization: String? = nil, body: String = "") -> HTTPResponse {
    var headers: [String: String] = ["content-type": "application/json"]
    if let key { headers["authorization"] = "Bearer \(key)" }
    if let authorization { headers["authorization"] = authorization }
    let box = ResponseBox()
    handler.handle(HTTPRequest(method: method, path: path, headers: headers, body: Array(body.utf8))) { box.put($0) }
    return box.wait()
}

/// A file with `text` and permission bits `mode`, removed by the caller.
func temporaryKeysFile(_ text: String, mode: Int = 0o600) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("dyserve-keys-\(UUID().uuidString)").path
    try text.write(toFile: path, atomically: false, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    return path
}
