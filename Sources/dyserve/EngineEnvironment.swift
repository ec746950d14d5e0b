import DyNN
import Foundation

/// Applies the environment the serving backend asks for at process start (`Backend.startupEnvironment`).
/// Such variables are read by a runtime library when it loads, before any of our code runs, so the only
/// way to apply them is to start again with them set.
enum EngineEnvironment {
    /// Re-executes this process with the backend's start-up variables set, unless it wants none (or they
    /// are already chosen). Returns only then, or when re-executing failed.
    static func ensure(for backend: Backend) {
        let wanted = backend.startupEnvironment(given: ProcessInfo.processInfo.environment)
        guard !wanted.isEmpty else { return }
        for (name, value) in wanted { setenv(name, value, 1) }
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Only reached if exec failed: carry on without them, and say so.
        let settings = wanted.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        FileHandle.standardError.write(Data("dyserve: could not restart with \(settings) (errno \(errno)); continuing without\n".utf8))
    }
}
