import Dispatch
import Foundation
import Testing
@testable import DyNN

/// `OpenMPLane`: work runs on the lane's one thread, one piece at a time, results and typed errors come
/// back to the caller, and work submitted from the lane itself runs at once instead of deadlocking.
@Suite struct FastOpenMPLaneTests {
    private struct Failure: Error, Equatable { var code: Int }

    /// The calling thread's id (`pthread_t` is an integer on Linux).
    private static func currentThread() -> pthread_t { pthread_self() }

    @Test func runsOnTheLaneThreadAndReturnsTheResult() {
        let lane = OpenMPLane.shared(90)
        let caller = Self.currentThread()
        let first = lane.run { Self.currentThread() }
        let second = lane.run { Self.currentThread() }
        #expect(first != caller)
        #expect(first == second)
        #expect(lane.run { 6 * 7 } == 42)
    }

    @Test func typedErrorsReachTheCaller() {
        let lane = OpenMPLane.shared(91)
        #expect(throws: Failure(code: 3)) {
            try lane.run { () throws(Failure) -> Int in throw Failure(code: 3) }
        }
        // The lane keeps working after a failure.
        #expect(lane.run { 1 } == 1)
    }

    @Test func workFromTheLaneItselfRunsInline() {
        let lane = OpenMPLane.shared(92)
        let (outer, inner) = lane.run { (Self.currentThread(), lane.run { Self.currentThread() }) }
        #expect(outer == inner)
    }

    @Test func concurrentCallersRunOneAtATime() {
        let lane = OpenMPLane.shared(93)
        let lock = NSLock()
        nonisolated(unsafe) var running = 0
        nonisolated(unsafe) var overlapped = false
        nonisolated(unsafe) var results = [Int](repeating: -1, count: 16)
        DispatchQueue.concurrentPerform(iterations: 16) { index in
            let value = lane.run { () -> Int in
                lock.withLock {
                    running += 1
                    if running > 1 { overlapped = true }
                }
                usleep(200)
                lock.withLock { running -= 1 }
                return index * index
            }
            lock.withLock { results[index] = value }
        }
        #expect(!overlapped)
        #expect(results == (0..<16).map { $0 * $0 })
    }
}
