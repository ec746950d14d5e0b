/// `GET /` and `GET /explorer/...`: the attention explorer, a page that draws what `/attention`,
/// `/models` and `/infer` return. Its files are compiled into the binary (`ExplorerAssets`).
enum ExplorerRoute {
    /// The page may load only its own files and talk only to this service: no CDN, no external
    /// URL can sneak in. Pictures a user uploads are read through blob: URLs.
    static let contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; "
        + "img-src 'self' data: blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    static func owns(_ path: String) -> Bool {
        path == "/" || path == "/explorer" || path.hasPrefix("/explorer/")
    }

    static func handle(_ request: HTTPRequest) throws(RequestError) -> HTTPResponse {
        guard let asset = ExplorerAssets.byPath[request.path] else {
            throw .notFound("no such path \(request.path); the attention explorer is at /, its files are "
                + ExplorerAssets.byPath.keys.filter { $0 != "/" }.sorted().joined(separator: ", "))
        }
        guard request.method == "GET" || request.method == "HEAD" else {
            throw .methodNotAllowed(method: request.method, path: request.path, allowed: ["GET"])
        }
        return HTTPResponse(status: 200, headers: [
            ("Content-Type", asset.contentType),
            ("Content-Security-Policy", contentSecurityPolicy),
            ("X-Content-Type-Options", "nosniff"),
            // Revalidate on every load, so a new binary's page replaces the old one at once.
            ("Cache-Control", "no-cache"),
        ], body: asset.body)
    }
}
