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
            of `dyserve inspect`'s total, per sample, at the median latency. Peak memory is VmHWM. \
            --profile (fast backend) runs --iterations more passes after the timed ones and prints the \
            mean time per layer in attention, aggregation, convolution and activation.
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

    @Option(help: "Which engine runs the model: fast (oneDNN) or reference (the plain Swift ops).")
    var backend: Backend = .fast

    @Option(help: "Fast backend only: how expert kernels (and attention FC1 weights) are stored, fp32 or fp16 (aggregation stays fp32).")
    var experts: ExpertPrecision?

    @Flag(help: "Fast backend only: after timing, profile --iterations more passes; print mean ms per layer and phase.")
    var profile = false

    @Option(help: "Use this .npy tensor (FP32, single-input models) instead of the seeded random input; its first dimension is the batch.")
    var input: String?

    @Option(help: "Write the model's first output of the last timed pass here as .npy (to check the engine that was timed).")
    var output: String?

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
        if backend == .reference && experts != nil {
            throw ValidationError("--experts applies to --backend fast only (the reference backend keeps fp32 experts)")
        }
        if backend == .reference && profile {
            throw ValidationError("--profile needs --backend fast (the reference backend has no per-phase timers)")
        }
    }

    private func settings() throws(BenchSettingsError) -> BenchSettings {
        try BenchSettings(backend: backend, batch: batch, threads: threads, iterations: iterations,
                          warmup: warmup, defaultThreads: ProcessInfo.processInfo.activeProcessorCount)
    }

    func run() throws {
        var settings = try settings()
        let model = try modelOptions.load()
        let inputs: [Tensor]
        if let input {
            guard let data = FileManager.default.contents(atPath: input) else {
                throw ValidationError("--input: cannot read \(input)")
            }
            let tensor = try Npy.read([UInt8](data))
            guard model.spec.inputs.count == 1 else {
                throw ValidationError("--input: model \(model.spec.name) takes \(model.spec.inputs.count) inputs; --input serves single-input models")
            }
            guard let batch = tensor.shape.first, batch >= 1 else {
                throw ValidationError("--input: \(input) has shape \(tensor.shape), expected a batch dimension first")
            }
            // --batch keeps its default (1) with --input; any other value must agree with the file.
            if settings.batch != 1 && batch != settings.batch {
                throw ValidationError("--input has batch \(batch) but --batch is \(settings.batch)")
            }
            guard batch <= BenchSettings.maxBatch else {
                throw ValidationError("--input has batch \(batch), more than \(BenchSettings.maxBatch)")
            }
            settings.batch = batch
            inputs = [tensor]
        } else {
            inputs = try benchInputs(model, batch: settings.batch)
        }
        // The one batch size measured gets its plan when the engine is built, never inside a timed pass.
        let engine = try modelOptions.engine(settings.backend, model: model, threads: settings.threads,
                                             expertPrecision: experts ?? .fp32, batchSizes: [settings.batch])

        for _ in 0..<settings.warmup {
            _ = try engine.run(inputs, options: RunOptions())
        }
        var last: RunResult?
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
            last = result
        }
        guard let statistics = LatencyStatistics(millis) else {
            throw ValidationError("no usable timings were recorded")
        }
        // Peak memory is best effort: a missing VmHWM (non-Linux) leaves it null rather than failing the run.
        if let output, let first = last?.outputs.first {
            try Data(Npy.write(first)).write(to: URL(fileURLWithPath: output))
        }
        let peak = try? PeakResidentMemory.current()
        let summary = model.summary(batch: 1)
        var layerProfile: LayerProfile?
        if profile, let fast = engine as? FastEngine {
            layerProfile = try profilePasses(fast, inputs, count: settings.iterations)
        }
        let report = BenchReport(
            model: model.spec.name, backend: settings.backend.rawValue,
            experts: settings.backend == .fast ? (experts ?? .fp32).rawValue : nil,
            batch: settings.batch, threads: settings.threads, warmup: settings.warmup,
            macsPerSample: summary.totalMacs, parameters: summary.totalParams, latencyMs: statistics, peakRssBytes: peak,
            profile: layerProfile)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            printReport(report)
        }
    }

    /// Profiled passes after the timed ones, so the timers' own cost never enters the latency figures.
    private func profilePasses(_ engine: FastEngine, _ inputs: [Tensor], count: Int) throws -> LayerProfile {
        var passes: [[LayerProfile.Sample]] = []
        for _ in 0..<count {
            let (_, timings) = try engine.runProfiled(inputs, options: RunOptions())
            passes.append(timings)
        }
        guard let profile = LayerProfile(passes: passes) else {
            throw ValidationError("the engine returned no per-layer timings, or different layers on different passes")
        }
        return profile
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
        if let profile = r.profile { printProfile(profile) }
    }

    /// Per-layer table (mean ms per pass), then the phase totals with their share of the profiled pass.
    private func printProfile(_ p: LayerProfile) {
        print("")
        print("profile   mean of \(p.passes) profiled passes, ms")
        let header = ["layer", "op", "attention", "aggregation", "convolution", "activation", "total"]
        var rows = p.rows.map { row in
            [row.name, row.op] + [row.attentionMs, row.aggregationMs, row.convolutionMs, row.activationMs, row.totalMs]
                .map { String(format: "%.3f", $0) }
        }
        let t = p.total
        rows.append(["total", ""] + [t.attentionMs, t.aggregationMs, t.convolutionMs, t.activationMs, t.totalMs]
            .map { String(format: "%.3f", $0) })
        if t.totalMs > 0 {
            rows.append(["share", ""] + [t.attentionMs, t.aggregationMs, t.convolutionMs, t.activationMs, t.totalMs]
                .map { String(format: "%.1f%%", 100 * $0 / t.totalMs) })
        }
        let widths = header.indices.map { column in
            max(header[column].count, rows.map { $0[column].count }.max() ?? 0)
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { column, cell in
                column < 2 ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - cell.count) + cell
            }.joined(separator: "  ")
        }
        print(line(header))
        for row in rows { print(line(row)) }
        // The same summed per op kind ("layers": how many nodes of that kind).
        print("")
        let kindHeader = ["layers", "op"] + header.dropFirst(2)
        let kindRows = p.kinds.map { row in
            [row.name, row.op] + [row.attentionMs, row.aggregationMs, row.convolutionMs, row.activationMs, row.totalMs]
                .map { String(format: "%.3f", $0) }
        }
        let kindWidths = kindHeader.indices.map { column in
            max(kindHeader[column].count, kindRows.map { $0[column].count }.max() ?? 0)
        }
        for cells in [kindHeader] + kindRows {
            print(cells.enumerated().map { column, cell in
                column == 1 ? cell.padding(toLength: kindWidths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: kindWidths[column] - cell.count) + cell
            }.joined(separator: "  "))
        }
    }

    private static func milliseconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) * 1e3 + Double(parts.attoseconds) * 1e-15
    }
}
