import DyNN
import Foundation
import Testing

/// The shipped dy-digits model and its static twin on the held-out split of scikit-learn's digits: the
/// Swift engine must make exactly the predictions the PyTorch reference made on the exported files.
@Suite struct DigitsAccuracyTests {
    struct Expected: Decodable {
        var accuracy: Double
        var correct: Int
        var count: Int
        var predictions: [Int]
    }

    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// (model directory, file with the reference's figures)
    static let models: [(String, String)] = [
        ("models/dy-digits", "digits-heldout/expected.json"),
        ("Tests/DyNNTests/Fixtures/digits-static", "digits-static/expected.json"),
    ]

    @Test(arguments: models)
    func heldOutPredictionsMatchReference(_ model: String, _ expectedFile: String) throws {
        let data = FixtureFiles.root.appendingPathComponent("digits-heldout")
        let expected = try JSONDecoder().decode(
            Expected.self, from: Data(contentsOf: FixtureFiles.root.appendingPathComponent(expectedFile)))
        let inputs = try FixtureFiles.npy(data.appendingPathComponent("inputs.npy"))
        let labels = try FixtureFiles.npy(data.appendingPathComponent("labels.npy"))
        #expect(inputs.shape == [expected.count, 1, 8, 8] && labels.count == expected.count)

        let loaded = try Model.load(from: Self.repositoryRoot.appendingPathComponent(model))
        let probabilities = try #require(try loaded.run([inputs]).outputs.first)
        let predictions = probabilities.topK(1).map { $0[0].index }
        let correct = zip(predictions, labels.data).filter { $0 == Int($1) }.count
        #expect(predictions == expected.predictions)
        #expect(correct == expected.correct, "\(model): \(correct)/\(expected.count), reference \(expected.correct)")
    }
}
