import DyNN
import Foundation
import Testing
@testable import DyServe

/// An engine that records the batch sizes it is asked to run (each size is a plan and a
/// workspace in the fast engine), forwarding to the reference engine.
final class BatchSizeRecordingEngine: InferenceEngine, @unchecked Sendable {
    let inner: Model
    private let lock = NSLock()
    private var seen: Set<Int> = []

    init(_ inner: Model) {
        self.inner = inner
    }

    var model: Model { inner }
    var batchSizes: Set<Int> { lock.withLock { seen } }

    func run(_ inputs: [Tensor], options: RunOptions) throws(RunError) -> RunResult {
        _ = lock.withLock { seen.insert(inputs[0].shape[0]) }
        return try inner.run(inputs, options: options)
    }
}

@Suite struct EngineChunkingTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func everyClientBatchFrom1To64ReachesTheEngineInChunksOfAtMostTheMaximum() throws {
        let model = try Model.load(from: Self.root.appendingPathComponent("models/dy-digits"))
        let engine = BatchSizeRecordingEngine(model)
        let served = DyNNServableModel(engine: engine, maxEngineBatch: 8)
        for batch in 1...64 {
            let input = Tensor(shape: [batch, 1, 8, 8], data: (0..<(batch * 64)).map { Float(($0 * 7) % 13) / 13 })
            let chunked = try served.infer([input], options: RunOptions(trace: .full))
            #expect(chunked.outputs[0].shape == [batch, 10])
            if batch == 64 || batch == 13 {
                // Chunks give exactly what one pass over the whole batch gives, trace included.
                let whole = try model.run([input], options: RunOptions(trace: .full))
                #expect(chunked.outputs[0].data == whole.outputs[0].data)
                #expect(chunked.trace == whole.trace)
            }
        }
        #expect(engine.batchSizes == Set(1...8), "\(engine.batchSizes.sorted())")
    }

    @Test func withoutAMaximumTheBatchGoesWhole() throws {
        let model = try Model.load(from: Self.root.appendingPathComponent("models/dy-digits"))
        let engine = BatchSizeRecordingEngine(model)
        _ = try DyNNServableModel(engine: engine).infer([Tensor(shape: [20, 1, 8, 8], data: [Float](repeating: 0.5, count: 20 * 64))], options: RunOptions())
        #expect(engine.batchSizes == [20])
    }
}
