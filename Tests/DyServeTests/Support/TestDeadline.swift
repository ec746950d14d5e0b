import Dispatch
import Foundation
import Testing

/// How long a test waits for something another thread should do almost at once: generous, so a
/// busy machine does not fail a test, but finite, so a bug fails the test instead of hanging the suite.
let testWaitSeconds = 30.0

/// Polls `condition` until it holds; past `seconds`, records a failure naming `what` and returns false.
@discardableResult
func waitUntil(_ what: String, seconds: Double = testWaitSeconds, sourceLocation: SourceLocation = #_sourceLocation,
               _ condition: () -> Bool) -> Bool {
    let deadline = DispatchTime.now() + seconds
    while !condition() {
        if DispatchTime.now() >= deadline {
            Issue.record("waited \(Int(seconds)) s in vain until \(what)", sourceLocation: sourceLocation)
            return false
        }
        usleep(500)
    }
    return true
}

extension DispatchSemaphore {
    /// `wait()` with the test deadline; past it, records a failure naming `what` and returns false.
    @discardableResult
    func waitInTest(_ what: String, seconds: Double = testWaitSeconds,
                    sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        guard wait(timeout: .now() + seconds) == .success else {
            Issue.record("waited \(Int(seconds)) s in vain for \(what)", sourceLocation: sourceLocation)
            return false
        }
        return true
    }

    /// A gate a test model blocks on until the test opens it. Past the deadline the model goes on
    /// (the test, which then gets unexpected answers, fails), so no worker thread stays blocked.
    func waitAtGate() {
        _ = wait(timeout: .now() + testWaitSeconds)
    }
}

extension DispatchGroup {
    /// `wait()` with the test deadline; past it, records a failure naming `what` and returns false.
    @discardableResult
    func waitInTest(_ what: String, seconds: Double = testWaitSeconds,
                    sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        guard wait(timeout: .now() + seconds) == .success else {
            Issue.record("waited \(Int(seconds)) s in vain for \(what)", sourceLocation: sourceLocation)
            return false
        }
        return true
    }
}
