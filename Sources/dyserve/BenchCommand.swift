import ArgumentParser
import DyNN
import Foundation

/// `dyserve bench`: in-process latency of one engine's forward pass on a seeded random input.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure a model's in-process forward-pass latency (median, p90), throughput and GFLOP/s.",
        discussion: """
            Runs --warmup untimed passes, then --iterations timed ones on the same seeded random input \
            (uniform in [0, 1), the model's input shape at --batch), each timed with a monotonic clock. \
            median: middle of the sorted times (mean of the two middle ones for an even count). \
            p90: nearest rank, the ceil(0.9 n)-th smallest time. GFLOP/s counts 2 FLOPs per multiply-add \
            of `dyserve inspect`'s total, per sample, at the median latency. Peak memory is VmHWM.
            """
    )

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Samples per forward pass.")
    var batch: Int = 1

    @Option(help: "Intra-op threads (default: 1 for the reference backend, all cores for fast).")
    var threads: Int?

    @Option(help: "Timed forward passes.")
    var iterations: Int = 20

    @Option(help: "Untimed forward passes before timing.")
    var warmup: Int = 3

    // Parsed by hand rather than by a retroactive ExpressibleByArgument conformance on DyNN's enum,
    // which another command could declare too.
    @Option(help: "Which engine runs the model: \(Backend.allCases.map(\.rawValue).joined(separator: " | ")).",
            transform: Self.parseBackend)
    var backend: Backend = .reference

    @Option(help: "Seed of the random input.")
    var seed: UInt64 = 0

    @Flag(help: "Print one JSON object instead of the text report.")
    var json = false

    func validate() throws {
        do {
            _ = try settings()
        } catch {
            throw ValidationError(error.description)
        }
        if backend == .fast { throw ValidationError(BenchUnavailable.fastBackend.description) }
    }

    private func settings() throws(BenchSettingsError) -> BenchSettings {
        try BenchSettings(backend: backend, batch: batch, threads: threads, iterations: iterations,
                          warmup: warmup, defaultThreads: ProcessInfo.processInfo.activeProcessorCount)
    }

    func run() throws {
        let settings = try settings()
        let model = try modelOptions.load()
        let engine = try makeEngine(model, settings)
        let inputs = try benchInputs(model, batch: settings.batch)

        for _ in 0..<settings.warmup {
            _ = try engine.run(inputs, options: RunOptions())
        }
        var millis: [Double] = []
        millis.reserveCapacity(settings.iterations)
        let clock = ContinuousClock()
        for _ in 0..<settings.iterations {
            let start = clock.now
            let result = try engine.run(inputs, options: RunOptions())
            let elapsed = start.duration(to: clock.now)
            // Keeps the result alive until after the clock read, so its release is not timed either.
            withExtendedLifetime(result) {}
            millis.append(Self.milliseconds(elapsed))
        }
        guard let statistics = LatencyStatistics(millis) else {
            throw ValidationError("no usable timings were recorded")
        }
        // Peak memory is best effort: a missing VmHWM (non-Linux) leaves it null rather than failing the run.
        let peak = try? PeakResidentMemory.current()
        let summary = model.summary(batch: 1)
        let report = BenchReport(
            model: model.spec.name, backend: settings.backend.rawValue, experts: nil,
            batch: settings.batch, threads: settings.threads, warmup: settings.warmup,
            macsPerSample: summary.totalMacs, parameters: summary.totalParams, latencyMs: statistics, peakRssBytes: peak)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            printReport(report)
        }
    }

    private func makeEngine(_ model: Model, _ settings: BenchSettings) throws -> any InferenceEngine {
        switch settings.backend {
        case .reference:
            return model
        case .fast:
            throw BenchUnavailable.fastBackend
        }
    }

    /// One seeded tensor per model input, batch dimension set to `batch`; input i uses seed + i.
    private func benchInputs(_ model: Model, batch: Int) throws -> [Tensor] {
        if let fixed = model.fixedBatch, fixed != batch {
            throw ValidationError("model \(model.spec.name) takes a fixed batch of \(fixed), got --batch \(batch)")
        }
        return model.spec.inputs.enumerated().map { index, spec in
            var shape = spec.shape
            if !shape.isEmpty { shape[0] = batch }
            return Tensor.seededUniform(shape: shape, seed: seed &+ UInt64(index))
        }
    }

    private func printReport(_ r: BenchReport) {
        print("model     \(r.model)")
        print("backend   \(r.backend)\(r.experts.map { " (experts \($0))" } ?? "")")
        print("threads   \(r.threads)")
        print("batch     \(r.batch)")
        print("timing    \(r.iterations) iterations after \(r.warmup) warmup")
        print(String(format: "latency   median %.3f ms, p90 %.3f ms (min %.3f, max %.3f, mean %.3f)",
                     r.medianMs, r.p90Ms, r.minMs, r.maxMs, r.meanMs))
        print(String(format: "through   %.2f samples/s", r.samplesPerS))
        print(String(format: "compute   %.2f GFLOP/s (%.1f M multiply-adds per sample)",
                     r.gflops, Double(r.macsPerSample) / 1e6))
        if let peak = r.peakRssMib {
            print(String(format: "memory    peak resident %.1f MiB (VmHWM); weights %.1f MiB in fp32 (%.2f M parameters)",
                         peak, r.weightsFp32Mib, Double(r.parameters) / 1e6))
        } else {
            print("memory    peak resident unknown (no VmHWM on this system)")
        }
    }

    private static func parseBackend(_ text: String) throws -> Backend {
        guard let backend = Backend(rawValue: text) else {
            throw ValidationError("--backend must be one of \(Backend.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(text)\"")
        }
        return backend
    }

    private static func milliseconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) * 1e3 + Double(parts.attoseconds) * 1e-15
    }
}


/// A backend this build cannot run, said plainly instead of silently measuring another one.
enum BenchUnavailable: Error, CustomStringConvertible {
    case fastBackend

    var description: String {
        switch self {
        case .fastBackend:
            return "--backend fast: the fast (oneDNN) engine is not part of this build yet; use --backend reference"
        }
    }
}
