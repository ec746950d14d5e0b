import CDNNL
@testable import DyNN
import Testing

/// A fast path that fails says so: a failing step of a pass is an error naming its cause (never a quiet
/// switch to the reference path), the engine stays usable after it, and ops without a fast path are
/// known from load time.
@Suite struct FastFailureTests {
    static func digits() throws -> Model {
        try Model.load(from: FastShippedModelTests.models.appendingPathComponent("dy-digits"))
    }

    static let failure = FastEngineError.dnnl(call: "dnnl_primitive_execute", status: dnnl_runtime_error.rawValue,
                                              node: "injected")

    /// Every kind of step dy-digits plans fails once in turn, at batch 1 and at a sample-parallel batch:
    /// each pass throws the step's error as an engine failure, and the next pass matches the reference.
    @Test(arguments: [1, 4])
    func aFailingStepFailsThePassWithItsCause(batch: Int) throws {
        let model = try Self.digits()
        let engine = try FastEngine(model: model, options: FastEngineOptions(threads: 2))
        let input = SeededInput.uniform([batch, 1, 8, 8], seed: 31)
        let reference = try model.run([input], options: RunOptions(trace: .attention))
        var stepCount = 0
        engine.injectedStepFailure = { _ in
            stepCount += 1
            return nil
        }
        _ = try engine.run([input], options: RunOptions())
        #expect(stepCount > 3, "dy-digits plans several steps")
        for failing in 0..<stepCount {
            var step = 0
            engine.injectedStepFailure = { _ in
                defer { step += 1 }
                return step == failing ? Self.failure : nil
            }
            #expect(throws: RunError.engineFailure(Self.failure)) { try engine.run([input], options: RunOptions()) }
            engine.injectedStepFailure = nil
            let after = try engine.run([input], options: RunOptions(trace: .attention))
            FastComparison(tolerance: 1e-5, context: "after step \(failing) failed").compare(after, reference)
        }
    }

    @Test func anEngineFailureIsNotTheInputsFault() {
        let error = RunError.engineFailure(Self.failure)
        #expect(!error.isInputError)
        #expect(RunError.emptyBatch(input: "x").isInputError)
        #expect(error.description.contains("dnnl_primitive_execute failed with status \(dnnl_runtime_error.rawValue)"))
        #expect(error.description.contains("\"injected\""))
    }

    /// An error on one thread of a parallel region reaches the calling thread once the region ends.
    @Test func aRegionRethrowsTheFirstThreadsError() {
        let failure = RegionFailure()
        let ran = OpenMPThreads.forEachThread(2) { me, _ in
            failure.record { () throws(FastEngineError) in
                if me == 0 { throw .missingValue(node: "thread 0") }
            }
        }
        #expect(ran)
        #expect(failure.failed)
        #expect(throws: FastEngineError.missingValue(node: "thread 0")) { try failure.rethrow() }
        #expect(throws: Never.self) { try RegionFailure().rethrow() }
    }

    /// A oneDNN execution that fails throws its status: oneDNN refuses to run a primitive on a stream of
    /// another oneDNN engine (`dnnl_invalid_arguments`), and the binding reports the call and the node.
    @Test func aRefusedExecutionThrowsItsStatus() throws {
        let context = try DNNLContext()
        let stranger = try DNNLContext()
        let geometry = ConvGeometry(kernelH: 3, kernelW: 3, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1)
        let shape = ConvShape(batch: 1, input: [1, 4, 6, 6], output: [1, 8, 6, 6], geometry: geometry)
        let convolution = try ConvPrimitive(context: context, shape: shape, hasBias: false, postOp: nil, node: "conv")
        let buffer = AlignedBuffer(byteCount: 1 << 16)
        #expect(throws: FastEngineError.dnnl(call: "dnnl_primitive_execute", status: dnnl_invalid_arguments.rawValue, node: "conv")) {
            try convolution.execute(stream: stranger.stream, source: buffer.raw, weights: buffer.raw, bias: nil,
                                    destination: buffer.raw, scratchpad: buffer.raw)
        }
        try convolution.execute(stream: context.stream, source: buffer.raw, weights: buffer.raw, bias: nil,
                                destination: buffer.raw, scratchpad: buffer.raw)
    }

    /// Ops the fast path does not cover are listed when the engine is built.
    @Test func fallbacksAreKnownAtLoadTime() throws {
        let engine = try FastEngine(model: try Self.digits(), options: FastEngineOptions(threads: 1))
        #expect(!engine.fallbacks.isEmpty)
        #expect(engine.fallbacks.map(\.node) == engine.referenceNodes)
        for fallback in engine.fallbacks {
            #expect(fallback.description.contains("runs its reference op"))
        }
        #expect(try Self.digits().fallbacks.isEmpty, "the reference engine falls back to nothing")
    }
}
