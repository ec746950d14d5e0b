/// The attention explorer's files, each compiled into the binary as a string (see the
/// `Explorer*.swift` files next to this one) and served by `ExplorerRoute`.
enum ExplorerAssets {
    struct Asset: Sendable {
        let contentType: String
        let body: [UInt8]
    }

    /// Path -> file. `/` is the page; the rest live under `/explorer/`.
    static let byPath: [String: Asset] = [
        "/": Asset(contentType: "text/html; charset=utf-8", body: Array(pageHTML.utf8)),
        "/explorer/style.css": Asset(contentType: "text/css; charset=utf-8", body: Array(styleSheet.utf8)),
        "/explorer/charts.js": Asset(contentType: "text/javascript; charset=utf-8", body: Array(chartsScript.utf8)),
        "/explorer/app.js": Asset(contentType: "text/javascript; charset=utf-8", body: Array(appScript.utf8)),
    ]
}
