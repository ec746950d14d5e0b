import Foundation
import DyNN
import Testing
@testable import DyServe

@Suite struct BatchAssemblyTests {
    @Test func mergeConcatenatesAlongTheBatchDimension() {
        let a = Tensor(shape: [1, 2], data: [1, 2])
        let b = Tensor(shape: [2, 2], data: [3, 4, 5, 6])
        let merged = BatchAssembly.merge([a, b])
        #expect(merged.shape == [3, 2])
        #expect(merged.data == [1, 2, 3, 4, 5, 6])
        #expect(BatchAssembly.merge([a]) == a)
    }

    @Test func splitGivesEachRequestItsOwnRowsAndTrace() throws {
        let trace = LayerTrace(name: "c", op: "dynamic_conv2d",
                               attention: AttentionTrace(routing: "softmax", temperature: 1,
                                                         pi: [[1, 0], [0, 1], [0.5, 0.5]], entropy: [0, 0, 0.7]))
        let act = LayerTrace(name: "r", op: "dy_relu",
                             activation: ActivationTrace(variant: "C", pieces: 1, channels: 1, a: [[1], [2], [3]],
                                                         b: [[4], [5], [6]], spatial: [[0.1], [0.2], [0.3]],
                                                         height: 1, width: 1))
        let outcome = InferenceOutcome(outputs: [Tensor(shape: [3, 2], data: [1, 2, 3, 4, 5, 6])], trace: [trace, act])
        let parts = try BatchAssembly.split(outcome, sizes: [2, 1])
        #expect(parts.count == 2)
        #expect(parts[0].outputs[0] == Tensor(shape: [2, 2], data: [1, 2, 3, 4]))
        #expect(parts[1].outputs[0] == Tensor(shape: [1, 2], data: [5, 6]))
        #expect(parts[0].trace[0].attention?.pi == [[1, 0], [0, 1]])
        #expect(parts[1].trace[0].attention?.pi == [[0.5, 0.5]])
        #expect(parts[1].trace[0].attention?.entropy == [0.7])
        #expect(parts[1].trace[1].activation?.a == [[3]])
        #expect(parts[1].trace[1].activation?.b == [[6]])
        #expect(parts[0].trace[1].activation?.spatial == [[0.1], [0.2]])
        #expect(parts[1].trace[1].name == "r")
    }

    @Test func anAnswerWithTheWrongRowCountIsAnErrorNotACrash() {
        let short = InferenceOutcome(outputs: [Tensor(shape: [2, 2], data: [1, 2, 3, 4])], trace: [])
        #expect(throws: BatchAssembly.MismatchedBatch.self) { try BatchAssembly.split(short, sizes: [2, 1]) }
        let scalar = InferenceOutcome(outputs: [Tensor(shape: [], data: [1])], trace: [])
        #expect(throws: BatchAssembly.MismatchedBatch.self) { try BatchAssembly.split(scalar, sizes: [1, 1]) }
        let badTrace = InferenceOutcome(
            outputs: [Tensor(shape: [2, 1], data: [1, 2])],
            trace: [LayerTrace(name: "c", op: "x", attention: AttentionTrace(routing: "softmax", temperature: 1,
                                                                             pi: [[1]], entropy: [0]))])
        #expect(throws: BatchAssembly.MismatchedBatch.self) { try BatchAssembly.split(badTrace, sizes: [1, 1]) }
    }

    @Test func batchKeysSeparateShapesTemperaturesAndTraceLevels() {
        let x = Tensor(shape: [1, 1, 2, 2], data: [0, 0, 0, 0])
        let y = Tensor(shape: [3, 1, 2, 2], data: [Float](repeating: 0, count: 12))
        let z = Tensor(shape: [1, 1, 4, 1], data: [0, 0, 0, 0])
        #expect(BatchKey(inputs: [x], options: RunOptions()) == BatchKey(inputs: [y], options: RunOptions()))
        #expect(BatchKey(inputs: [x], options: RunOptions()) != BatchKey(inputs: [z], options: RunOptions()))
        #expect(BatchKey(inputs: [x], options: RunOptions(temperature: 2)) != BatchKey(inputs: [x], options: RunOptions()))
        #expect(BatchKey(inputs: [x], options: RunOptions(trace: .full)) != BatchKey(inputs: [x], options: RunOptions(trace: .attention)))
    }
}

@Suite struct ComputeBudgetTests {
    @Test func executionsTimesIntraOpThreadsNeverExceedTheCores() {
        #expect(ComputeBudget(cores: 2).concurrentExecutions(threads: 1) == 2)
        #expect(ComputeBudget(cores: 2).concurrentExecutions(threads: 2) == 1)
        #expect(ComputeBudget(cores: 2).concurrentExecutions(threads: 0) == 2)
        #expect(ComputeBudget(cores: 2).concurrentExecutions(threads: 8) == 1)
        #expect(ComputeBudget(cores: 8).concurrentExecutions(threads: 3) == 2)
        for cores in 1...16 {
            for setting in 0...16 {
                for backend in Backend.allCases {
                    let b = ComputeBudget(cores: cores, intraOpThreads: setting, backend: backend)
                    for madds in [0, 300_000, 19_999_999, 20_000_000, 317_000_000] {
                        let threads = b.threads(forModelWithMultiplyAdds: madds)
                        #expect(threads >= 1 && threads <= cores)
                        #expect(b.concurrentExecutions(threads: threads) * threads <= cores)
                    }
                }
            }
        }
    }

    @Test func autoGivesSmallFastModelsOneThreadAndLargeOnesEveryCore() {
        let fast = ComputeBudget(cores: 2, intraOpThreads: 0, backend: .fast)
        #expect(fast.threads(forModelWithMultiplyAdds: 297_156) == 1)      // dy-digits
        #expect(fast.threads(forModelWithMultiplyAdds: 316_900_000) == 2)  // dy-mobilenetv2
        let reference = ComputeBudget(cores: 2, intraOpThreads: 0, backend: .reference)
        #expect(reference.threads(forModelWithMultiplyAdds: 316_900_000) == 1)
        let fixed = ComputeBudget(cores: 2, intraOpThreads: 1, backend: .fast)
        #expect(fixed.threads(forModelWithMultiplyAdds: 316_900_000) == 1)
    }

    @Test func coreTokensNeverGrantMoreThanTheCores() {
        final class Held: @unchecked Sendable {
            let lock = NSLock()
            var now = 0, peak = 0
        }
        let tokens = CoreTokens(count: 2)
        let held = Held()
        DispatchQueue.concurrentPerform(iterations: 64) { i in
            let want = i % 3 == 0 ? 2 : 1
            tokens.withTokens(want) {
                held.lock.withLock { held.now += want; held.peak = max(held.peak, held.now) }
                usleep(200)
                held.lock.withLock { held.now -= want }
            }
        }
        #expect(held.peak <= 2)
        #expect(tokens.available == 2)
    }
}

@Suite struct SchedulerConfigTests {
    @Test func yamlEnvironmentAndOverridesApply() throws {
        let yaml = """
        scheduler:
          max_batch_size: 1
          max_queue_delay_us: 0
          max_queue_size: 4
          timeout_ms: 250
          overload_status: 429
        server:
          shutdown_timeout_s: 5
        inference:
          intra_op_threads: 2
        """
        let config = try ServiceConfig.resolve(yaml: yaml, environment: ["DYSERVE_SCHEDULER_MAX_QUEUE_SIZE": "9"],
                                               overrides: [ConfigOverride(key: "scheduler.timeout_ms", value: "100", source: "--flag")])
        #expect(config.scheduler == ServiceConfig.Scheduler(maxBatchSize: 1, maxQueueDelayMicroseconds: 0, maxQueueSize: 9,
                                                            timeoutMilliseconds: 100, overloadStatus: 429))
        #expect(config.server.shutdownTimeoutSeconds == 5)
        #expect(ComputeBudget(config).intraOpThreads == min(2, ComputeBudget(config).cores))
        let settings = SchedulerSettings(config)
        #expect(settings.batchingEnabled == false)
        #expect(settings.overloadStatus == 429)
    }

    @Test(arguments: [
        ("scheduler:\n  max_batch_size: 0", "scheduler.max_batch_size"),
        ("scheduler:\n  max_batch_size: eight", "scheduler.max_batch_size"),
        ("scheduler:\n  max_queue_size: -1", "scheduler.max_queue_size"),
        ("scheduler:\n  timeout_ms: 0", "scheduler.timeout_ms"),
        ("scheduler:\n  overload_status: 500", "scheduler.overload_status"),
        ("scheduler:\n  overload_status: 404", "scheduler.overload_status"),
        ("scheduler:\n  max_queue_delay_us: 1.5", "scheduler.max_queue_delay_us"),
        ("scheduler:\n  max_batchsize: 4", "scheduler.max_batchsize"),
        ("server:\n  shutdown_timeout_s: 0", "server.shutdown_timeout_s"),
        ("scheduler: [1, 2]", "scheduler"),
    ])
    func badValuesNameTheirKey(yaml: String, key: String) {
        #expect {
            _ = try ServiceConfig.resolve(yaml: yaml)
        } throws: { error in
            "\(error)".contains(key)
        }
    }

    @Test func intraOpThreadsArePerModelByDefault() throws {
        let auto = try ServiceConfig.resolve(yaml: "inference:\n  backend: fast\n  threads: 2")
        #expect(auto.inference.backend == .fast && auto.inference.intraOpThreads == 0)
        #expect(ComputeBudget(auto).threads(forModelWithMultiplyAdds: 300_000) == 1)
        #expect(ComputeBudget(auto).threads(forModelWithMultiplyAdds: 300_000_000) == 2)
        let fixed = try ServiceConfig.resolve(yaml: "inference:\n  backend: fast\n  threads: 2\n  intra_op_threads: 2")
        #expect(ComputeBudget(fixed).threads(forModelWithMultiplyAdds: 300_000) == 2)
        let reference = try ServiceConfig.resolve(
            yaml: nil, environment: ["DYSERVE_INFERENCE_THREADS": "2", "DYSERVE_INFERENCE_BACKEND": "reference"])
        #expect(reference.inference.backend == .reference)
        #expect(ComputeBudget(reference).concurrentExecutions(threads: ComputeBudget(reference).threads(forModelWithMultiplyAdds: 300_000_000)) == 2)
        #expect(throws: ConfigError.self) { _ = try ServiceConfig.resolve(yaml: "inference:\n  backend: gpu") }
    }

    @Test func unknownSchedulerEnvironmentVariablesAreRejected() {
        #expect(throws: ConfigError.self) {
            _ = try ServiceConfig.resolve(yaml: nil, environment: ["DYSERVE_SCHEDULER_MAX_BATCH": "4"])
        }
        #expect(throws: ConfigError.self) {
            _ = try ServiceConfig.resolve(yaml: nil, environment: ["DYSERVE_SCHEDULER_OVERLOAD_STATUS": "200"])
        }
    }
}
