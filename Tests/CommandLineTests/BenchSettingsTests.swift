import Testing
import DyNN
@testable import dyserve

@Suite struct BenchSettingsTests {
    private func make(_ backend: Backend = .reference, batch: Int = 1, threads: Int? = nil,
                      iterations: Int = 10, warmup: Int = 2) throws(BenchSettingsError) -> BenchSettings {
        try BenchSettings(backend: backend, batch: batch, threads: threads, iterations: iterations,
                          warmup: warmup, defaultThreads: 2)
    }

    @Test func defaultsPickThreadsPerBackend() throws {
        #expect(try make(.reference).threads == 1)
        #expect(try make(.fast).threads == 2)
        #expect(try make(.fast, threads: 1).threads == 1)
        #expect(try make(.reference, threads: 1).threads == 1)
    }

    @Test func referenceRefusesMoreThanOneThread() {
        #expect(throws: BenchSettingsError.threadsUnsupported(backend: .reference, requested: 2)) {
            try make(.reference, threads: 2)
        }
    }

    @Test func outOfRangeValuesNameTheOption() {
        #expect(throws: BenchSettingsError.outOfRange(option: "--batch", value: 0, range: 1...BenchSettings.maxBatch)) {
            try make(batch: 0)
        }
        #expect(throws: BenchSettingsError.self) { try make(batch: BenchSettings.maxBatch + 1) }
        #expect(throws: BenchSettingsError.self) { try make(iterations: 0) }
        #expect(throws: BenchSettingsError.self) { try make(warmup: -1) }
        #expect(throws: BenchSettingsError.self) { try make(.fast, threads: 0) }
        #expect(throws: BenchSettingsError.self) { try make(.fast, threads: Int.min) }
        #expect(throws: BenchSettingsError.self) { try make(batch: Int.max) }
    }

    @Test func zeroWarmupIsAllowed() throws {
        #expect(try make(warmup: 0).warmup == 0)
    }

    @Test func messagesSayWhatWasGiven() {
        let error = BenchSettingsError.outOfRange(option: "--batch", value: 0, range: 1...4096)
        #expect(error.description == "--batch must be between 1 and 4096, got 0")
        #expect(BenchSettingsError.threadsUnsupported(backend: .reference, requested: 3).description.contains("got 3"))
    }
}
