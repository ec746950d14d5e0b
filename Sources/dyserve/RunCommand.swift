import ArgumentParser
import DyNN
import Foundation

/// `dyserve run`: one forward pass on a `.npy` input, offline.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a model on a .npy input and print the top classes."
    )

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Input tensor as a NumPy .npy file (FP32, C order).")
    var input: String

    @Option(help: "Write the model's first output here as .npy.")
    var output: String?

    @Option(help: "Write the full trace (attention pi, DY-ReLU coefficients) here as JSON.")
    var attention: String?

    @Option(help: "Override every dynamic convolution's softmax temperature.")
    var temperature: Float?

    @Option(name: .customLong("top-k"), help: "How many classes to print per sample.")
    var topK: Int = 5

    @Option(help: "fast (oneDNN, as `serve` uses by default) or reference (the plain Swift ops).")
    var backend: Backend = .fast

    func validate() throws {
        if let temperature, !(temperature > 0 && temperature.isFinite) {
            throw ValidationError("--temperature must be a positive number, got \(temperature)")
        }
        if topK < 1 { throw ValidationError("--top-k must be at least 1") }
    }

    func run() throws {
        let engine = try modelOptions.engine(backend)
        let model = engine.model
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: input)))
        let tensor = try Npy.read(bytes)
        let result = try engine.run([tensor], options: RunOptions(
            temperature: temperature, trace: attention == nil ? .none : .full))

        if let output, let first = result.outputs.first {
            try Data(Npy.write(first)).write(to: URL(fileURLWithPath: output))
        }
        if let attention {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let document = TraceDocument(model: model.spec.name, temperature: temperature, layers: result.trace)
            try encoder.encode(document).write(to: URL(fileURLWithPath: attention))
        }
        if let first = result.outputs.first {
            printTopClasses(first, labels: model.spec.labels)
        }
    }

    private func printTopClasses(_ scores: Tensor, labels: [String]?) {
        for (sample, ranked) in scores.topK(topK).enumerated() {
            let line = ranked.map { entry in
                let label = labels.flatMap { entry.index < $0.count ? $0[entry.index] : nil } ?? String(entry.index)
                return "\(label) \(String(format: "%.4f", entry.score))"
            }
            print("sample \(sample): " + line.joined(separator: ", "))
        }
    }
}

/// What `--attention` writes: the model, the temperature override if any, the layers in network order.
private struct TraceDocument: Encodable {
    var model: String
    var temperature: Float?
    var layers: [LayerTrace]
}
