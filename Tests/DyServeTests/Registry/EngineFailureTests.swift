@testable import DyNN
import Foundation
import Testing
@testable import DyServe

/// A failing engine reaches the service as a 500 carrying its cause, not as a 400 or a slow answer, and
/// a served fast model's plans stay as loaded whatever batches clients send.
@Suite struct EngineFailureTests {
    static func digits() throws -> Model {
        try Model.load(from: EngineChunkingTests.root.appendingPathComponent("models/dy-digits"))
    }

    @Test func anEngineFailureIsA500WithItsCause() throws {
        let engine = try FastEngine(model: try Self.digits(), options: FastEngineOptions(threads: 1, batchSizes: [1]))
        let failure = FastEngineError.dnnl(call: "dnnl_stream_wait", status: 7, node: "conv1")
        engine.injectedStepFailure = { _ in failure }
        let served = DyNNServableModel(engine: engine)
        let input = Tensor(shape: [1, 1, 8, 8], data: [Float](repeating: 0.5, count: 64))
        do {
            _ = try served.infer([input], options: RunOptions())
            Issue.record("a failing engine must throw")
        } catch let error as RequestError {
            #expect(error.status == 500)
            #expect(error.message.contains("dnnl_stream_wait failed with status 7 for node \"conv1\""), "\(error.message)")
        }
        engine.injectedStepFailure = nil
        #expect(try served.infer([input], options: RunOptions()).outputs[0].shape == [1, 10])
        // The client's own mistakes stay 400s.
        #expect(throws: RequestError.badRequest(RunError.emptyBatch(input: "input").description)) {
            try served.infer([Tensor(shape: [0, 1, 8, 8], data: [])], options: RunOptions())
        }
    }

    @Test func everyClientBatchFrom1To64LeavesTheServedPlansBounded() throws {
        let engine = try FastEngine(model: try Self.digits(),
                                    options: FastEngineOptions(threads: 1, batchSizes: FastEngineOptions.batchSizes(upTo: 8)))
        let served = DyNNServableModel(engine: engine, maxEngineBatch: 8)
        let planned = engine.planCount
        #expect(planned == 8)
        for batch in 1...64 {
            let input = Tensor(shape: [batch, 1, 8, 8], data: (0..<(batch * 64)).map { Float(($0 * 5) % 11) / 11 })
            #expect(try served.infer([input], options: RunOptions()).outputs[0].shape == [batch, 10])
        }
        #expect(engine.planCount == planned)
    }
}
