import DyNN
import Foundation
import Testing

/// Every op and model variant against the independent PyTorch reference (tools/reference.py).
/// Each case directory is a model plus input.npy, output.npy, trace.json and case.json.
@Suite struct PyTorchFixtureTests {
    struct Case: Decodable {
        var description: String
        var temperature: Float?
        var tolerance: Float
    }

    static var caseNames: [String] {
        let root = FixtureFiles.root
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.filter {
            FileManager.default.fileExists(atPath: root.appendingPathComponent($0).appendingPathComponent("case.json").path)
        }.sorted()
    }

    @Test func fixturesArePresent() {
        #expect(Self.caseNames.count >= 15, "expected the generated fixture cases, found \(Self.caseNames)")
    }

    @Test(arguments: caseNames)
    func matchesPyTorch(_ name: String) throws {
        let directory = FixtureFiles.root.appendingPathComponent(name)
        let testCase = try JSONDecoder().decode(Case.self, from: Data(contentsOf: directory.appendingPathComponent("case.json")))
        let model = try Model.load(from: directory)
        let input = try FixtureFiles.npy(directory.appendingPathComponent("input.npy"))
        let expected = try FixtureFiles.npy(directory.appendingPathComponent("output.npy"))
        let result = try model.run([input], options: RunOptions(temperature: testCase.temperature, trace: .full))

        let output = try #require(result.outputs.first)
        #expect(output.shape == expected.shape, "\(name): \(testCase.description)")
        let allowed = FixtureFiles.allowance(testCase.tolerance, for: expected.data)
        let error = FixtureFiles.maxAbsDifference(output.data, expected.data)
        #expect(error <= allowed, "\(name): output differs by \(error), allowed \(allowed)")

        let expectedTrace = try JSONDecoder().decode([LayerTrace].self, from: Data(contentsOf: directory.appendingPathComponent("trace.json")))
        #expect(result.trace.map(\.name) == expectedTrace.map(\.name), "\(name): traced layers")
        for (actual, reference) in zip(result.trace, expectedTrace) {
            compare(actual, reference, tolerance: testCase.tolerance, context: "\(name)/\(reference.name)")
        }
    }

    private func compare(_ actual: LayerTrace, _ expected: LayerTrace, tolerance: Float, context: String) {
        #expect(actual.op == expected.op, "\(context): op")
        #expect(actual.routedBy == expected.routedBy, "\(context): routed_by")
        #expect((actual.attention == nil) == (expected.attention == nil), "\(context): attention present")
        if let a = actual.attention, let e = expected.attention {
            #expect(a.routing == e.routing, "\(context): routing")
            #expect(abs(a.temperature - e.temperature) <= 1e-6 * max(1, e.temperature), "\(context): temperature")
            closeEnough(a.pi.flatMap { $0 }, e.pi.flatMap { $0 }, tolerance, "\(context): pi")
            closeEnough(a.entropy, e.entropy, tolerance, "\(context): entropy")
        }
        #expect((actual.activation == nil) == (expected.activation == nil), "\(context): activation present")
        if let a = actual.activation, let e = expected.activation {
            #expect(a.variant == e.variant && a.pieces == e.pieces && a.channels == e.channels, "\(context): DY-ReLU shape")
            closeEnough(a.a.flatMap { $0 }, e.a.flatMap { $0 }, tolerance, "\(context): a")
            closeEnough(a.b.flatMap { $0 }, e.b.flatMap { $0 }, tolerance, "\(context): b")
            #expect((a.spatial == nil) == (e.spatial == nil), "\(context): spatial present")
            closeEnough((a.spatial ?? []).flatMap { $0 }, (e.spatial ?? []).flatMap { $0 }, tolerance, "\(context): spatial")
        }
    }

    private func closeEnough(_ actual: [Float], _ expected: [Float], _ tolerance: Float, _ what: String) {
        #expect(actual.count == expected.count, "\(what): \(actual.count) values, expected \(expected.count)")
        let error = FixtureFiles.maxAbsDifference(actual, expected)
        let allowed = FixtureFiles.allowance(tolerance, for: expected)
        #expect(error <= allowed, "\(what) differs by \(error), allowed \(allowed)")
    }
}
