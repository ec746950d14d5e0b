import Foundation

/// Per-model counters in the shape of Triton's statistics extension, with Triton's meanings:
/// - `inference_count`: samples inferred successfully (a request of batch 4 counts 4);
/// - `execution_count`: model executions (dynamic batching merges several requests into one);
/// - `success`, `fail`, `queue`, `compute_input`, `compute_infer`, `compute_output`: one count per
///   *request*, with its own duration (arrival to answer; waiting in the queue; the execution it
///   ran in, split into merging the batch's inputs, the model's forward pass, and splitting the
///   outputs per request);
/// - `batch_stats`: per execution batch size, one count and those three times per *execution*.
/// Thread-safe; fed by `InferencePipeline` for both APIs.
public final class InferenceStatistics: @unchecked Sendable {
    /// A count and the nanoseconds summed over it.
    struct Duration: Sendable, Equatable {
        var count = 0
        var ns: UInt64 = 0

        mutating func add(_ nanoseconds: UInt64) {
            count += 1
            ns &+= nanoseconds
        }
    }

    /// One execution's compute time in Triton's three parts.
    struct ComputeSplit: Sendable, Equatable {
        var inputNs: UInt64
        var inferNs: UInt64
        var outputNs: UInt64

        /// The forward pass is what the execution took beyond merging and splitting.
        init(_ completion: InferenceCompletion) {
            inputNs = completion.inputNanoseconds
            outputNs = completion.outputNanoseconds
            let overhead = inputNs &+ outputNs
            inferNs = completion.computeNanoseconds > overhead ? completion.computeNanoseconds - overhead : 0
        }
    }

    /// Count and time of each compute part.
    struct ComputeDurations: Sendable, Equatable {
        var input = Duration()
        var infer = Duration()
        var output = Duration()

        mutating func add(_ split: ComputeSplit) {
            input.add(split.inputNs)
            infer.add(split.inferNs)
            output.add(split.outputNs)
        }
    }

    struct ModelStatistics: Sendable, Equatable {
        var success = Duration()
        var fail = Duration()
        var queue = Duration()
        var compute = ComputeDurations()
        /// Samples inferred successfully.
        var inferenceCount = 0
        /// Successful model executions (a batch of several requests is one).
        var executionCount = 0
        /// Milliseconds since 1970 of the last successful inference; 0 before the first.
        var lastInferenceMs: UInt64 = 0
        /// Compute per execution, by the execution's batch size.
        var computeByBatch: [Int: ComputeDurations] = [:]
    }

    private let lock = NSLock()
    private var models: [String: ModelStatistics] = [:]

    public init() {}

    /// One request answered successfully: `samples` of its own, waiting `queueNs` and computed in
    /// an execution that took `computeNs`.
    func recordSuccess(model: String, samples: Int, queueNs: UInt64, compute: ComputeSplit, totalNs: UInt64) {
        let now = UInt64(max(0, Date().timeIntervalSince1970 * 1000))
        lock.withLock {
            var m = models[model] ?? ModelStatistics()
            m.success.add(totalNs)
            m.queue.add(queueNs)
            m.compute.add(compute)
            m.inferenceCount += samples
            m.lastInferenceMs = now
            models[model] = m
        }
    }

    /// One model execution of `batchSize` samples (however many requests they came from).
    func recordExecution(model: String, batchSize: Int, compute: ComputeSplit) {
        lock.withLock {
            var m = models[model] ?? ModelStatistics()
            m.executionCount += 1
            m.computeByBatch[batchSize, default: ComputeDurations()].add(compute)
            models[model] = m
        }
    }

    func recordFailure(model: String, totalNs: UInt64) {
        lock.withLock { models[model, default: ModelStatistics()].fail.add(totalNs) }
    }

    /// A snapshot of one model's counters (zeros before its first request).
    func snapshot(model: String) -> ModelStatistics {
        lock.withLock { models[model] ?? ModelStatistics() }
    }
}
