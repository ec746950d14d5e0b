import Foundation
import Testing
@testable import DyServe

@Suite struct ExplorerRouteTests {
    @Test func thePageAndEveryFileItLoadsAreServed() throws {
        let api = APIHarness()
        let page = api.get("/")
        #expect(page.status == 200)
        #expect(page.header("Content-Type") == "text/html; charset=utf-8")
        #expect(page.header("Content-Security-Policy")?.contains("default-src 'none'") == true)
        #expect(page.text.contains("<title>dyserve attention explorer</title>"))
        // Every file the page names is one the binary serves, with its type.
        let referenced = try NSRegularExpression(pattern: #"(?:src|href)="(/[^"]*)""#)
            .matches(in: page.text, range: NSRange(page.text.startIndex..., in: page.text))
            .map { String(page.text[Range($0.range(at: 1), in: page.text)!]) }
        #expect(Set(referenced) == ["/explorer/style.css", "/explorer/charts.js", "/explorer/app.js"])
        for path in referenced {
            let file = api.get(path)
            #expect(file.status == 200, "\(path)")
            #expect(file.header("Content-Type")?.hasPrefix(path.hasSuffix(".css") ? "text/css" : "text/javascript") == true)
            #expect(!file.body.isEmpty)
        }
        #expect(api.get("/metrics").text.contains(#"dyserve_http_requests_total{route="explorer",code="200"} 4"#))
    }

    @Test func theFilesNameNoExternalURLAndCallOnlyThePublicAPI() throws {
        for (path, asset) in ExplorerAssets.byPath {
            let text = String(decoding: asset.body, as: UTF8.self)
            // The one URL allowed is SVG's namespace name, which is never fetched.
            let urls = try NSRegularExpression(pattern: #"https?://[^\s'"`)]+"#)
                .matches(in: text, range: NSRange(text.startIndex..., in: text))
                .map { String(text[Range($0.range, in: text)!]) }
            #expect(urls.allSatisfy { $0 == "http://www.w3.org/2000/svg" }, "\(path): \(urls)")
        }
        let script = ExplorerAssets.appScript
        let called = try NSRegularExpression(pattern: #"api\(\s*[`']([^`'?$]*)"#)
            .matches(in: script, range: NSRange(script.startIndex..., in: script))
            .map { String(script[Range($0.range(at: 1), in: script)!]) }
        #expect(Set(called) == ["/models", "/attention", "/infer"])
        #expect(!script.contains("fetch(") || script.components(separatedBy: "fetch(").count == 2,
                "one fetch, inside api()")
    }

    @Test func otherMethodsAndUnknownFilesAreRefused() {
        let api = APIHarness()
        #expect(api.call(HTTPRequest(method: "HEAD", path: "/")).status == 200)
        let post = api.call(HTTPRequest(method: "POST", path: "/", body: Array("x".utf8)))
        #expect(post.status == 405)
        #expect(post.header("Allow") == "GET")
        let missing = api.get("/explorer/secret.js")
        #expect(missing.status == 404)
        #expect(missing.errorMessage.contains("/explorer/app.js"))
        #expect(api.get("/explorer/../models").status == 404)
    }
}
