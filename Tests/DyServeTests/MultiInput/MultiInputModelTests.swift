import Dispatch
import DyNN
import Foundation
import Testing
@testable import DyServe

/// A model with two inputs through the whole path: DyNN's `Model.run`, `/infer` with `inputs`,
/// V2 with mixed JSON and binary inputs, and dynamic batching (each input merged on its own).
@Suite struct MultiInputModelTests {
    /// `sum = a + b`, both `[-1, 1, 2, 2]`, built from DyNN's `add` op (no weights), written into a
    /// folder of its own, as `dyserve serve` would find it.
    static func pairModel() throws -> DyNNServableModel {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dyserve-pair-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let spec = """
            {"format_version": 1, "name": "pair", "version": "1",
             "inputs": [{"name": "a", "datatype": "FP32", "shape": [-1, 1, 2, 2]},
                        {"name": "b", "datatype": "FP32", "shape": [-1, 1, 2, 2]}],
             "outputs": [{"name": "sum", "datatype": "FP32", "shape": [-1, 1, 2, 2]}],
             "weights": {"synthetic": {"seed": 1}},
             "nodes": [{"name": "sum", "op": "add", "inputs": ["a", "b"]}]}
            """
        try Data(spec.utf8).write(to: dir.appendingPathComponent("model.json"))
        return DyNNServableModel(engine: try Model.load(from: dir))
    }

    static let a: [Float] = [1, 2, 3, 4, 5, 6, 7, 8]
    static let b: [Float] = [10, 20, 30, 40, 50, 60, 70, 80]
    static let sum: [Float] = zip(a, b).map(+)

    @Test func v2WithOneJSONAndOneBinaryInput() throws {
        let api = APIHarness(models: ["pair": try Self.pairModel()])
        defer { api.pool?.shutdown() }
        // b first, in binary; a inline: order and encoding are free per input.
        let header = #"{"inputs": [{"name": "b", "shape": [2, 1, 2, 2], "datatype": "FP32", "parameters": {"binary_data_size": 32}}, {"name": "a", "shape": [2, 1, 2, 2], "datatype": "FP32", "data": [1, 2, 3, 4, 5, 6, 7, 8]}]}"#
        let r = api.call(HTTPRequest(method: "POST", path: "/v2/models/pair/infer",
                                     headers: ["inference-header-content-length": String(header.utf8.count)],
                                     body: Array(header.utf8) + littleEndian(Self.b)))
        #expect(r.status == 200, "\(r.text)")
        let output = try #require((r.json["outputs"] as? [[String: Any]])?.first)
        #expect(output["name"] as? String == "sum" && output["shape"] as? [Int] == [2, 1, 2, 2])
        #expect((output["data"] as? [Double])?.map(Float.init) == Self.sum)
    }

    @Test func v2ErrorsNameTheInput() throws {
        let api = APIHarness(models: ["pair": try Self.pairModel()])
        defer { api.pool?.shutdown() }
        func post(_ body: String) -> HTTPResponse { api.post(body, path: "/v2/models/pair/infer") }
        let a = #"{"name": "a", "shape": [1, 1, 2, 2], "datatype": "FP32", "data": [1, 2, 3, 4]}"#
        let missing = post(#"{"inputs": [\#(a)]}"#)
        #expect(missing.status == 400 && missing.errorMessage.contains("input \"b\" is missing"))
        let unknown = post(#"{"inputs": [\#(a), {"name": "c", "shape": [1, 1, 2, 2], "datatype": "FP32", "data": [1, 2, 3, 4]}]}"#)
        #expect(unknown.status == 400 && unknown.errorMessage.contains("no input \"c\"; its inputs are \"a\", \"b\""))
        let batches = post(#"{"inputs": [\#(a), {"name": "b", "shape": [2, 1, 2, 2], "datatype": "FP32", "data": [1, 2, 3, 4, 5, 6, 7, 8]}]}"#)
        #expect(batches.status == 400 && batches.errorMessage.contains("every input needs the same batch size"))
        let twice = post(#"{"inputs": [\#(a), \#(a)]}"#)
        #expect(twice.status == 400 && twice.errorMessage.contains("input \"a\" appears twice"))
        let raw = api.call(HTTPRequest(method: "POST", path: "/v2/models/pair/infer",
                                       headers: ["inference-header-content-length": "0"], body: littleEndian(Self.a)))
        #expect(raw.status == 400 && raw.errorMessage.contains("carries one input"))
    }

    @Test func simpleAPIWithNamedInputs() throws {
        let api = APIHarness(models: ["pair": try Self.pairModel()])
        defer { api.pool?.shutdown() }
        let r = api.post(#"{"model": "pair", "inputs": {"a": {"shape": [2, 1, 2, 2], "data": [1, 2, 3, 4, 5, 6, 7, 8]}, "b": [[[[10, 20], [30, 40]]], [[[50, 60], [70, 80]]]]}}"#)
        #expect(r.status == 200, "\(r.text)")
        #expect(r.firstOutput == Self.sum)
        let single = api.post(#"{"model": "pair", "input": [[[[1, 2], [3, 4]]]]}"#)
        #expect(single.status == 400 && single.errorMessage.contains("takes 2 inputs (\"a\", \"b\"); send them by name in \"inputs\""))
        let missing = api.post(#"{"model": "pair", "inputs": {"a": [[[[1, 2], [3, 4]]]]}}"#)
        #expect(missing.status == 400 && missing.errorMessage.contains("input \"b\" is missing from inputs"))
        let shape = api.post(#"{"model": "pair", "inputs": {"a": [[[[1, 2], [3, 4]]]], "b": [[[1, 2], [3, 4]]]}}"#)
        #expect(shape.status == 400 && shape.errorMessage.contains("input \"b\": shape [1,2,2] does not match [-1,1,2,2]"))
        let both = api.post(#"{"model": "pair", "input": [[[[1, 2], [3, 4]]]], "inputs": {"a": [[[[1, 2], [3, 4]]]]}}"#)
        #expect(both.status == 400 && both.errorMessage.contains("not both"))
        let empty = api.post(#"{"model": "pair", "inputs": {}}"#)
        #expect(empty.status == 400 && empty.errorMessage.contains("inputs is empty"))
        // A one-input model may be fed by name too.
        let test = APIHarness()
        defer { test.pool?.shutdown() }
        #expect(test.post(#"{"model": "test", "inputs": {"input": [[[[1, 1], [0, 0]]]]}}"#).status == 200)
    }

    /// Blocks the first execution until `release`, so requests queue behind it and batch.
    final class Gated: ServableModel, @unchecked Sendable {
        let inner: any ServableModel
        private let lock = NSLock()
        private var batches: [[Int]] = []
        private var blocked = false
        private let started = DispatchSemaphore(value: 0)
        private let gate = DispatchSemaphore(value: 0)
        init(_ inner: any ServableModel) { self.inner = inner }
        var info: ServedModelInfo { inner.info }
        func infer(_ inputs: [Tensor], options: RunOptions) throws -> InferenceOutcome {
            let block = lock.withLock { () -> Bool in
                batches.append(inputs.map { $0.shape[0] })
                defer { blocked = true }
                return !blocked
            }
            if block {
                started.signal()
                gate.waitAtGate()
            }
            return try inner.infer(inputs, options: options)
        }
        func waitUntilBlocked() { started.waitInTest("a blocked execution to start") }
        func release() { gate.signal() }
        var recorded: [[Int]] { lock.withLock { batches } }
    }

    @Test func requestsBatchInputByInput() throws {
        let model = Gated(try Self.pairModel())
        let h = SchedulerHarness(model: model, settings: SchedulerSettings(maxBatchSize: 8))
        defer { h.executor.shutdown() }
        func body(_ a: [Float], _ b: [Float]) -> String {
            #"{"model": "test", "inputs": {"a": {"shape": [1, 1, 2, 2], "data": \#(a)}, "b": {"shape": [1, 1, 2, 2], "data": \#(b)}}}"#
        }
        let first = h.send(body([0, 0, 0, 0], [1, 1, 1, 1]))
        model.waitUntilBlocked()
        let second = h.send(body([1, 2, 3, 4], [10, 20, 30, 40]))
        h.waitUntilQueued(1)
        let third = h.send(body([5, 6, 7, 8], [50, 60, 70, 80]))
        h.waitUntilQueued(2)
        model.release()
        #expect(first.wait().firstOutput == [1, 1, 1, 1])
        #expect(second.wait().firstOutput == [11, 22, 33, 44])
        #expect(third.wait().firstOutput == [55, 66, 77, 88])
        // One execution of the first request, then one of the other two, each input merged.
        #expect(model.recorded == [[1, 1], [2, 2]])
    }
}
