import ArgumentParser
import DyNN
import Foundation

/// `--model NAME_OR_DIR` and where bare names are looked up.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "A shipped model's name (looked up in --models-dir) or a model directory path.")
    var model: String

    @Option(name: .long, help: "Where bare model names are looked up (default: $DYSERVE_MODELS_DIR or ./models).")
    var modelsDir: String?

    func load() throws -> Model {
        let directory = modelsDir ?? ProcessInfo.processInfo.environment["DYSERVE_MODELS_DIR"] ?? "models"
        let url = try Model.resolve(model, modelsDirectory: URL(fileURLWithPath: directory))
        return try Model.load(from: url)
    }

    /// The model behind the chosen backend: the reference ops, or oneDNN (`threads` 0 = all cores)
    /// with plans for `batchSizes`.
    func engine(_ backend: Backend, model: Model? = nil, threads: Int = 0, expertPrecision: ExpertPrecision = .fp32,
                batchSizes: [Int] = FastEngineOptions().batchSizes) throws -> any InferenceEngine {
        let model = try model ?? load()
        switch backend {
        case .reference:
            return model
        case .fast:
            return try FastEngine(model: model, options: FastEngineOptions(threads: threads, expertPrecision: expertPrecision,
                                                                         batchSizes: batchSizes))
        }
    }
}
