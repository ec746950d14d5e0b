import DyNN
import Foundation
@testable import DyServe

/// A small hand-written model: input [-1, 1, 2, 2], output "probs" [-1, 3] =
/// softmax([x0 + x1, x2 + x3, 0] / tau). Its "attention" is that same softmax, so tests can
/// check the trace against the output and see the temperature take effect.
struct TestModel: ServableModel {
    var name = "test"
    var labels: [String]? = ["left", "right", "none"]

    var info: ServedModelInfo {
        ServedModelInfo(name: name, version: "1",
                        inputs: [ServedTensorSpec(name: "input", shape: [-1, 1, 2, 2])],
                        outputs: [ServedTensorSpec(name: "probs", shape: [-1, 3])],
                        labels: labels, temperature: 1, parameters: 0, multiplyAdds: 4)
    }

    static func softmax(_ z: [Float]) -> [Float] {
        let m = z.max() ?? 0
        let e = z.map { Foundation.exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    func infer(_ inputs: [Tensor], options: RunOptions) throws -> InferenceOutcome {
        let x = inputs[0]
        let n = x.shape[0]
        let tau = options.temperature ?? 1
        var out: [Float] = []
        var pi: [[Float]] = []
        for s in 0..<n {
            let v = Array(x.data[(s * 4)..<(s * 4 + 4)])
            let p = Self.softmax([v[0] + v[1], v[2] + v[3], 0].map { $0 / tau })
            out += p
            pi.append(p)
        }
        var trace: [LayerTrace] = []
        if options.trace >= .attention {
            let entropy = pi.map { row in -row.reduce(0) { $0 + ($1 > 0 ? $1 * Foundation.log($1) : 0) } }
            trace.append(LayerTrace(name: "conv1", op: "dynamic_conv2d",
                                    attention: AttentionTrace(routing: "softmax", temperature: tau, pi: pi, entropy: entropy)))
            let activation: ActivationTrace? = options.trace == .full
                ? ActivationTrace(variant: "C", pieces: 2, channels: 1, a: [[Float]](repeating: [1, 0], count: n),
                                  b: [[Float]](repeating: [0, 0], count: n),
                                  spatial: [[Float]](repeating: [1, 1, 1, 1], count: n), height: 2, width: 2)
                : nil
            trace.append(LayerTrace(name: "act1", op: "dy_relu", activation: activation))
        }
        return InferenceOutcome(outputs: [Tensor(shape: [n, 3], data: out)], trace: trace)
    }
}

/// A model with a bug: it always throws an error that is not the client's fault.
struct BrokenModel: ServableModel {
    struct Bug: Error {}
    var info: ServedModelInfo { TestModel().info }
    func infer(_ inputs: [Tensor], options: RunOptions) throws -> InferenceOutcome { throw Bug() }
}

/// A model that returns the wrong number of outputs (another bug the service must survive).
struct NoOutputModel: ServableModel {
    var info: ServedModelInfo { TestModel().info }
    func infer(_ inputs: [Tensor], options: RunOptions) throws -> InferenceOutcome {
        InferenceOutcome(outputs: [], trace: [])
    }
}

/// An executor that holds every job until `release` (for queue-full and in-flight tests) or
/// refuses all of them.
final class GatedExecutor: InferenceExecutor, @unchecked Sendable {
    private let lock = NSLock()
    private var held: [(InferenceJob, @Sendable (InferenceCompletion) -> Void)] = []
    var refuse = false

    func submit(_ job: InferenceJob, completion: @escaping @Sendable (InferenceCompletion) -> Void) {
        if refuse {
            let full = SchedulingRejection(reason: .queueFull, status: 503, message: "the inference queue is full (0 requests waiting)")
            return completion(InferenceCompletion(result: .failure(full), queueNanoseconds: 0, computeNanoseconds: 0))
        }
        lock.withLock { held.append((job, completion)) }
    }

    var heldCount: Int { lock.withLock { held.count } }

    func release() {
        let jobs = lock.withLock { () -> [(InferenceJob, @Sendable (InferenceCompletion) -> Void)] in
            defer { held = [] }
            return held
        }
        for (job, completion) in jobs {
            let result: Result<InferenceOutcome, any Error> = job.isCancelled()
                ? .failure(SchedulingRejection.clientGone)
                : Result { try job.model.infer(job.inputs, options: job.options) }
            completion(InferenceCompletion(result: result, queueNanoseconds: 0, computeNanoseconds: 0))
        }
    }
}
