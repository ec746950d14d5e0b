import Foundation
import Testing
@testable import DyServe

/// HTTPS through libmicrohttpd's GnuTLS support, with a self-signed certificate made by openssl
/// (scripts/install-deps.sh installs openssl and curl).
@Suite struct HTTPServerTLSTests {
    @discardableResult
    private func run(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func servesHTTPSWithTheConfiguredCertificate() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dyserve-tls-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let key = dir.appendingPathComponent("key.pem").path
        let cert = dir.appendingPathComponent("cert.pem").path
        let made = try run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                                       "-days", "1", "-subj", "/CN=127.0.0.1"])
        try #require(made.status == 0, "openssl could not make a certificate")

        var config = ServiceConfig()
        config.server.tlsCertFile = cert
        config.server.tlsKeyFile = key
        let configuration = try HTTPServerConfiguration(config)
        #expect(configuration.tlsCertificatePEM?.contains("BEGIN CERTIFICATE") == true)
        try withTestServer(configuration) { _, _, port in
            let https = try run("curl", ["-s", "--cacert", cert, "-o", "/dev/null", "-w", "%{http_code}",
                                         "https://127.0.0.1:\(port)/status?code=204"])
            #expect(https.output == "204", "curl over https: \(https.output)")
            let echo = try run("curl", ["-s", "--cacert", cert, "https://127.0.0.1:\(port)/echo?x=1"])
            #expect(echo.output.contains("\"x\":\"1\""))
            // Plain HTTP to the TLS port gets no HTTP answer.
            let plain = try run("curl", ["-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/status?code=204"])
            #expect(plain.output != "204")
        }
    }

    @Test func incompleteOrUnreadableTLSSettingsAreErrors() {
        var config = ServiceConfig()
        config.server.tlsCertFile = "/nonexistent/cert.pem"
        #expect(throws: HTTPServerError.incompleteTLS) { _ = try HTTPServerConfiguration(config) }
        config.server.tlsKeyFile = "/nonexistent/key.pem"
        #expect(throws: HTTPServerError.tlsFile(key: "server.tls_cert_file", path: "/nonexistent/cert.pem")) {
            _ = try HTTPServerConfiguration(config)
        }
    }
}
