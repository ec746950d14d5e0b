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

/// Calls `wait` with the test deadline; past it, records a failure naming `what` and returns false.
@discardableResult
func waitWithDeadline(for what: String, seconds: Double, sourceLocation: SourceLocation,
                      _ wait: (DispatchTime) -> DispatchTimeoutResult) -> Bool {
    guard wait(.now() + seconds) == .success else {
        Issue.record("waited \(Int(seconds)) s in vain for \(what)", sourceLocation: sourceLocation)
        return false
    }
    return true
}

extension DispatchSemaphore {
    /// `wait()` with the test deadline; past it, records a failure naming `what` and returns false.
    @discardableResult
    func waitInTest(_ what: String, seconds: Double = testWaitSeconds,
                    sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        waitWithDeadline(for: what, seconds: seconds, sourceLocation: sourceLocation) { self.wait(timeout: $0) }
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
        waitWithDeadline(for: what, seconds: seconds, sourceLocation: sourceLocation) { self.wait(timeout: $0) }
    }
}
