import Foundation
import Testing

/// The `dyserve` executable SwiftPM builds next to the test bundle (`swift test` builds every
/// product), or the one `DYSERVE_BINARY` names; and the package root, for the shipped files.
enum DyserveBinary {
    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
    }

    static var path: String {
        if let named = ProcessInfo.processInfo.environment["DYSERVE_BINARY"], !named.isEmpty { return named }
        let testBinary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: testBinary).deletingLastPathComponent()
        // The bundle's executable may sit inside `<name>.xctest/`; the products are beside the bundle.
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("dyserve").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return "dyserve (not found beside \(testBinary); build it or set DYSERVE_BINARY)"
    }

    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `dyserve arguments` in the package root and returns its exit status and output. Past
    /// `seconds` the process is killed and the test fails, so a hung command cannot hang the suite.
    static func run(_ arguments: [String], seconds: Double = testWaitSeconds,
                    sourceLocation: SourceLocation = #_sourceLocation) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.currentDirectoryURL = packageRoot
        var environment = ProcessInfo.processInfo.environment
        for name in environment.keys where name.hasPrefix("DYSERVE_") { environment[name] = nil }
        process.environment = environment
        let files = FileManager.default.temporaryDirectory.appendingPathComponent("dyserve-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: files, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: files) }
        // Files rather than pipes: a pipe nobody reads would block a chatty process.
        let out = files.appendingPathComponent("stdout"), err = files.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        let finished = waitUntil("dyserve \(arguments.joined(separator: " ")) exits", seconds: seconds,
                                 sourceLocation: sourceLocation) { !process.isRunning }
        if !finished { process.terminate() }
        // Also after a normal exit: on Linux a Process holds a run-loop source that retains the Process,
        // and only `waitUntilExit` lets go of it; without this call each Process stays in that cycle
        // (LeakSanitizer reports it).
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus,
                       stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                       stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }
}
