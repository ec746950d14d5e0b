import Foundation
import Testing
@testable import DyNN

@Suite struct ModelRunTests {
    /// `a, b [-1, 2, 3] -> relu(a) + b`: two inputs, one value used twice.
    static func residual() throws -> Model {
        let spec = ModelSpec(
            name: "residual", inputs: [TensorSpec(name: "a", shape: [-1, 2, 3]), TensorSpec(name: "b", shape: [-1, 2, 3])],
            outputs: [TensorSpec(name: "sum", shape: [-1, 2, 3]), TensorSpec(name: "r", shape: [-1, 2, 3], node: "relu")],
            weights: .synthetic(seed: 1),
            nodes: [NodeSpec(name: "relu", op: "relu", inputs: ["a"]), NodeSpec(name: "sum", op: "add", inputs: ["relu", "b"])])
        return try Model.load(spec: spec, directory: FileManager.default.temporaryDirectory)
    }

    static func dynamicModel() throws -> Model {
        try Model.load(spec: SyntheticWeightsTests.spec(seed: 2), directory: FileManager.default.temporaryDirectory)
    }

    static func runError(_ model: Model, _ inputs: [Tensor]) -> RunError? {
        do {
            _ = try model.run(inputs)
            return nil
        } catch {
            return error
        }
    }

    @Test func computesOutputsInSpecOrder() throws {
        let model = try Self.residual()
        let a = Tensor(shape: [1, 2, 3], data: [-1, 2, -3, 4, -5, 6])
        let b = Tensor(shape: [1, 2, 3], data: [10, 10, 10, 10, 10, 10])
        let result = try model.run([a, b])
        #expect(result.outputs.count == 2)
        #expect(result.outputs[0].data == [10, 12, 10, 14, 10, 16])
        #expect(result.outputs[1].data == [0, 2, 0, 4, 0, 6])
        #expect(result.trace.isEmpty)
    }

    @Test func freesEachValueAfterItsLastUse() throws {
        let model = try Self.residual()
        // Slots: 0 = a, 1 = b, 2 = relu (an output, kept), 3 = sum (an output, kept).
        #expect(model.releaseAfter == [[0], [1]])
        let directory = try ModelDirectory()
        let chain = try directory.load(spec: convSpec(nodes: [NodeSpec(name: "r1", op: "relu", inputs: ["conv"]),
                                                              NodeSpec(name: "r2", op: "add", inputs: ["r1", "conv"])],
                                                      output: "r2", outputShape: [-1, 3, 4, 4]), weights: convWeights)
        // Slots: 0 = input (last read by conv), 1 = conv and 2 = r1 (both last read by r2), 3 = r2 (the output).
        #expect(chain.releaseAfter == [[0], [], [1, 2]])
        #expect(try chain.run([ramp([2, 2, 4, 4])]).outputs[0].shape == [2, 3, 4, 4])
    }

    @Test func rejectsWrongInputCountAndShape() throws {
        let model = try Self.residual()
        let good = Tensor(zeros: [2, 2, 3])
        #expect(Self.runError(model, [good]) == .inputCount(expected: 2, actual: 1))
        let short = Tensor(zeros: [1, 2])
        let error = Self.runError(model, [short, good])
        #expect(error == .inputShape(input: "a", expected: [-1, 2, 3], actual: [1, 2]))
        #expect(error?.description.contains("input shape [1,2] does not match [-1,2,3]") == true)
        #expect(Self.runError(model, [good, Tensor(zeros: [2, 3, 2])]) == .inputShape(input: "b", expected: [-1, 2, 3], actual: [2, 3, 2]))
    }

    @Test func rejectsMismatchedAndEmptyBatches() throws {
        let model = try Self.residual()
        #expect(Self.runError(model, [Tensor(zeros: [2, 2, 3]), Tensor(zeros: [3, 2, 3])]) == .batchMismatch(input: "b", batch: 3, expected: 2))
        #expect(Self.runError(model, [Tensor(zeros: [0, 2, 3]), Tensor(zeros: [0, 2, 3])]) == .emptyBatch(input: "a"))
    }

    @Test func rejectsNonFiniteValuesNamingTheIndex() throws {
        let model = try Self.residual()
        var bad = Tensor(zeros: [2, 2, 3])
        bad.data[7] = .nan
        #expect(Self.runError(model, [Tensor(zeros: [2, 2, 3]), bad]).map { "\($0)" } == "input \"b\": value nan at flat index 7 is not finite")
        bad.data[7] = 0
        bad.data[4] = -.infinity
        #expect(Self.runError(model, [bad, Tensor(zeros: [2, 2, 3])]) == .nonFinite(input: "a", index: 4, value: -.infinity))
    }

    @Test func nonFiniteScanFindsTheFirstAndPassesEveryFiniteValue() {
        let edges: [Float] = [0, -0, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude,
                              -.leastNormalMagnitude, 1, -1]
        #expect(Model.firstNonFinite(edges) == nil)
        #expect(Model.firstNonFinite([]) == nil)
        for bad: Float in [.nan, -.nan, .signalingNaN, .infinity, -.infinity] {
            var values = [Float](repeating: 0.5, count: 1_003)
            values[999] = bad
            values[1_001] = .nan
            #expect(Model.firstNonFinite(values) == 999)
        }
    }

    @Test func tracesCarryNodeNamesInNetworkOrder() throws {
        let model = try Self.dynamicModel()
        let result = try model.run([ramp([2, 3, 8, 8])], options: RunOptions(trace: .full))
        #expect(result.trace.map(\.name) == ["dy", "act"])
        #expect(try model.run([ramp([2, 3, 8, 8])], options: RunOptions(trace: .none)).trace.isEmpty)
    }

    @Test func batchedRunMatchesPerSampleRuns() throws {
        let model = try Self.dynamicModel()
        let batch = Tensor(shape: [3, 3, 8, 8], data: (0..<576).map { cos(Float($0) * 0.11) })
        let together = try model.run([batch]).outputs[0]
        for sample in 0..<3 {
            let single = Tensor(shape: [1, 3, 8, 8], data: Array(batch.data[(sample * 192)..<((sample + 1) * 192)]))
            let alone = try model.run([single]).outputs[0]
            for (x, y) in zip(alone.data, together.data[(sample * 5)..<((sample + 1) * 5)]) { #expect(abs(x - y) <= 1e-5) }
        }
    }

    @Test func runsConcurrently() async throws {
        let model = try Self.dynamicModel()
        let inputs = (0..<8).map { index in ramp([1, 3, 8, 8], offset: Float(index) * 0.05) }
        let expected = try inputs.map { try model.run([$0]).outputs[0] }
        let results = try await withThrowingTaskGroup(of: (Int, Tensor).self) { group in
            for (index, input) in inputs.enumerated() {
                group.addTask { (index, try model.run([input]).outputs[0]) }
            }
            var collected: [Int: Tensor] = [:]
            for try await (index, output) in group { collected[index] = output }
            return collected
        }
        for (index, output) in results { #expect(output == expected[index]) }
    }

    @Test func summarisesLayers() throws {
        let directory = try ModelDirectory()
        let model = try directory.load(spec: convSpec(nodes: [NodeSpec(name: "act", op: "relu", inputs: ["conv"])]), weights: convWeights)
        let summary = model.summary(batch: 4)
        #expect(summary.rows.map(\.name) == ["conv", "act"])
        #expect(summary.rows.map(\.op) == ["conv2d", "relu"])
        #expect(summary.rows[0].outputShape == [4, 3, 4, 4])
        #expect(summary.rows[0].parameters == 3 * 2 * 9 + 3)
        #expect(summary.rows[0].macs > 0)
        #expect(summary.totalParams == summary.rows.reduce(0) { $0 + $1.parameters })
        #expect(summary.totalMacs == summary.rows.reduce(0) { $0 + $1.macs })
    }
}
