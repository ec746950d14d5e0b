import Foundation
import Testing
@testable import DyNN

/// Every model directory shipped in `models/` must load under the format's rules.
@Suite struct ShippedModelsTests {
    static let modelsDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("models")

    static var shipped: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: modelsDirectory.path)) ?? []
        return names.filter { FileManager.default.fileExists(atPath: modelsDirectory.appendingPathComponent("\($0)/model.json").path) }.sorted()
    }

    @Test(arguments: shipped)
    func loads(_ name: String) throws {
        let model = try Model.load(from: try Model.resolve(name, modelsDirectory: Self.modelsDirectory))
        let summary = model.summary()
        #expect(summary.totalParams > 0)
        #expect(summary.totalMacs > 0)
        print("\(name): \(model.nodes.count) nodes after folding (\(model.spec.nodes.count) in model.json), "
              + "\(summary.totalParams) parameters, \(summary.totalMacs) MACs per sample")
    }
}
