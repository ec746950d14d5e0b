import DyNN
import Foundation
import Testing

/// The shipped dy-digits model on the held-out split of scikit-learn's digits: the Swift engine must
/// classify exactly as many samples correctly as the PyTorch reference did when the model was exported.
@Suite struct DigitsAccuracyTests {
    struct Expected: Decodable {
        var accuracy: Double
        var correct: Int
        var count: Int
    }

    @Test func heldOutAccuracyMatchesTraining() throws {
        let data = FixtureFiles.root.appendingPathComponent("digits-heldout")
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: data.appendingPathComponent("expected.json")))
        let inputs = try FixtureFiles.npy(data.appendingPathComponent("inputs.npy"))
        let labels = try FixtureFiles.npy(data.appendingPathComponent("labels.npy"))
        #expect(inputs.shape[0] == expected.count && labels.count == expected.count)

        let modelDirectory = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("models/dy-digits")
        let model = try Model.load(from: modelDirectory)
        let probabilities = try #require(try model.run([inputs]).outputs.first)
        let predictions = probabilities.topK(1).map { $0[0].index }
        let correct = zip(predictions, labels.data).filter { $0 == Int($1) }.count
        #expect(correct == expected.correct, "served \(correct)/\(expected.count), training reported \(expected.correct)")
    }
}
