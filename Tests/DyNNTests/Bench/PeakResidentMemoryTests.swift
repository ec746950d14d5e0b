import Foundation
import Testing
import DyNN

@Suite struct PeakResidentMemoryTests {
    private let status = """
        Name:\tdyserve
        VmPeak:\t  123456 kB
        VmHWM:\t   20480 kB
        VmRSS:\t   10240 kB
        Threads:\t2

        """

    @Test func readsTheHighWaterMarkInBytes() throws {
        #expect(try PeakResidentMemory.parse(status: status) == 20480 * 1024)
    }

    @Test func missingLineIsAnError() {
        #expect(throws: PeakMemoryError.missingField) {
            try PeakResidentMemory.parse(status: "Name:\tx\nVmRSS:\t1 kB\n")
        }
        #expect(throws: PeakMemoryError.missingField) { try PeakResidentMemory.parse(status: "") }
    }

    @Test func malformedOrTruncatedLinesAreErrors() {
        for line in ["VmHWM:", "VmHWM:\t 12", "VmHWM:\t abc kB", "VmHWM:\t 12 MB", "VmHWM:\t -5 kB",
                     "VmHWM:\t 1 2 kB", "VmHWM:\t ١٢ kB"] {
            #expect(throws: PeakMemoryError.self, "\(line)") { try PeakResidentMemory.parse(status: line) }
        }
    }

    @Test func overflowingValueIsAnErrorNotATrap() {
        let line = "VmHWM:\t \(Int.max) kB"
        #expect(throws: PeakMemoryError.malformedLine(line)) { try PeakResidentMemory.parse(status: line) }
    }

    @Test func hostileLongInputIsHandled() {
        let junk = String(repeating: "x", count: 1_000_000)
        #expect(throws: PeakMemoryError.missingField) { try PeakResidentMemory.parse(status: junk) }
        #expect(throws: PeakMemoryError.self) { try PeakResidentMemory.parse(status: "VmHWM: " + junk + " kB") }
    }

    @Test func unreadableFileIsAnError() {
        #expect(throws: PeakMemoryError.unreadable(path: "/nonexistent/status")) {
            try PeakResidentMemory.current(path: "/nonexistent/status")
        }
    }

    #if os(Linux)
    @Test func thisProcessHasAPeak() throws {
        #expect(try PeakResidentMemory.current() > 0)
    }
    #endif
}
