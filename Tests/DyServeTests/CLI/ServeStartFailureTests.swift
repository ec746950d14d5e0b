import Foundation
import Testing

/// `dyserve serve` failures a user meets at start-up: each names its cause, prints no usage text
/// (the arguments were fine) and exits 1, not 64 (`EX_USAGE`, which says the command line was wrong).
@Suite(.serialized) struct ServeStartFailureTests {
    @Test func aPortInUseNamesTheAddressAndTheCause() throws {
        let listener = try ListeningSocket()
        let result = try withExtendedLifetime(listener) {
            try DyserveBinary.run([
                "serve", "--config", "config/dyserve.yaml", "--host", "127.0.0.1", "--port", String(listener.port),
                "--models", "dy-digits", "--backend", "reference",
            ])
        }
        #expect(result.status == 1, "exit status \(result.status); stderr: \(result.stderr)")
        #expect(result.stderr.contains("127.0.0.1:\(listener.port)"), "\(result.stderr)")
        #expect(result.stderr.contains("Address already in use"), "\(result.stderr)")
        #expect(!result.stderr.contains("port 0"), "\(result.stderr)")
        #expect(!result.stderr.contains("USAGE"), "\(result.stderr)")
    }

    @Test func aModelThatFailsToLoadIsNamedWithItsCause() throws {
        let models = FileManager.default.temporaryDirectory.appendingPathComponent("dyserve-broken-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: models) }
        let broken = models.appendingPathComponent("broken")
        try FileManager.default.createDirectory(at: broken, withIntermediateDirectories: true)
        try Data("{\"name\": ".utf8).write(to: broken.appendingPathComponent("model.json"))
        let result = try DyserveBinary.run([
            "serve", "--config", "config/dyserve.yaml", "--port", "0", "--models-dir", models.path,
            "--models", "broken", "--backend", "reference",
        ])
        #expect(result.status == 1, "exit status \(result.status); stderr: \(result.stderr)")
        #expect(result.stderr.contains("broken"), "\(result.stderr)")
        #expect(result.stderr.contains("model.json"), "\(result.stderr)")
        #expect(!result.stderr.contains("USAGE"), "\(result.stderr)")
    }

    @Test func aBadFlagValueIsAUsageError() throws {
        let result = try DyserveBinary.run(["serve", "--config", "config/dyserve.yaml", "--port", "70000"])
        #expect(result.status == 64, "exit status \(result.status); stderr: \(result.stderr)")
        #expect(result.stderr.contains("--port: 70000 is out of range 0...65535"), "\(result.stderr)")
    }
}

/// A TCP socket listening on a free port of 127.0.0.1 until it is released.
final class ListeningSocket {
    let descriptor: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EMFILE) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(fd, pointer, length) == 0 && listen(fd, 1) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else {
            let cause = POSIXErrorCode(rawValue: errno) ?? .EADDRINUSE
            close(fd)
            throw POSIXError(cause)
        }
        descriptor = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}
