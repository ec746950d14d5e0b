@testable import DyNN
import Foundation
import Testing

/// Every PyTorch fixture model through the fast backend against the reference `Model.run`: outputs and
/// full traces within 1e-4 of the reference's scale; a batch equals its samples run one by one.
@Suite struct FastFixtureTests {
    struct Case: Decodable {
        var temperature: Float?
    }

    static var caseNames: [String] { PyTorchFixtureTests.caseNames }

    @Test(arguments: caseNames, AggregationMethod.allCases)
    func agreesWithReference(_ name: String, _ aggregation: AggregationMethod) throws {
        let directory = FixtureFiles.root.appendingPathComponent(name)
        let testCase = try JSONDecoder().decode(Case.self, from: Data(contentsOf: directory.appendingPathComponent("case.json")))
        let model = try Model.load(from: directory)
        let engine = try FastEngine(model: model, options: FastEngineOptions(threads: 2, aggregation: aggregation))
        let input = try FixtureFiles.npy(directory.appendingPathComponent("input.npy"))
        let options = RunOptions(temperature: testCase.temperature, trace: .full)
        let reference = try model.run([input], options: options)
        let fast = try engine.run([input], options: options)
        FastComparison(tolerance: 1e-4, context: name).compare(fast, reference)

        // Batch N equals N single runs of the fast engine.
        let comparison = FastComparison(tolerance: 1e-5, context: "\(name) batch vs single")
        for n in 0..<input.shape[0] {
            let single = try engine.run([SeededInput.sample(input, n)], options: options)
            for (batched, one) in zip(fast.outputs, single.outputs) {
                comparison.close(SeededInput.sample(batched, n).data, one.data, "sample \(n)")
            }
        }
    }

    @Test(arguments: caseNames)
    func profiledRunMatchesRun(_ name: String) throws {
        let directory = FixtureFiles.root.appendingPathComponent(name)
        let model = try Model.load(from: directory)
        let engine = try FastEngine(model: model, options: FastEngineOptions(threads: 2))
        let input = try FixtureFiles.npy(directory.appendingPathComponent("input.npy"))
        let plain = try engine.run([input], options: RunOptions(trace: .full))
        let (profiled, timings) = try engine.runProfiled([input], options: RunOptions(trace: .full))
        #expect(profiled.outputs == plain.outputs, "\(name): the profile must not change the result")
        #expect(timings.map(\.name) == model.nodes.map(\.name), "\(name): one timing per node")
    }

    @Test(arguments: caseNames)
    func fp16ExpertsStayClose(_ name: String) throws {
        let directory = FixtureFiles.root.appendingPathComponent(name)
        let model = try Model.load(from: directory)
        let engine = try FastEngine(model: model, options: FastEngineOptions(threads: 2, expertPrecision: .fp16))
        let input = try FixtureFiles.npy(directory.appendingPathComponent("input.npy"))
        let reference = try model.run([input], options: RunOptions(trace: .full))
        let fast = try engine.run([input], options: RunOptions(trace: .full))
        // Half precision keeps 11 significant bits: weights move by up to 2^-11 relative.
        let deviation = FastComparison(tolerance: 2e-2, context: "\(name) fp16").compare(fast, reference)
        print("fp16 experts, \(name): largest output deviation \(deviation) (relative to output scale)")
    }
}
