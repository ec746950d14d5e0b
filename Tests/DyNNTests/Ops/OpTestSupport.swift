import Foundation
@testable import DyNN

/// Deterministic pseudo-random values for op tests, drawn from the synthetic-weight generator, so a
/// failure reproduces.
struct TestRandom {
    private var generator: SplitMix64

    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    /// Uniform in `[-scale, scale)`.
    mutating func values(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in generator.uniform(-Double(scale), Double(scale)) }
    }

    mutating func tensor(_ shape: [Int], scale: Float = 1) -> Tensor {
        Tensor(shape: shape, data: values(shape.reduce(1, *), scale: scale))
    }
}

func tensor(_ shape: [Int], _ data: [Float]) -> Tensor { Tensor(shape: shape, data: data) }

/// `[0, 1, 2, ...]` in the given shape.
func iota(_ shape: [Int]) -> Tensor {
    Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map(Float.init))
}

/// Largest absolute difference; infinite when the shapes differ.
func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
    guard a.shape == b.shape else { return .infinity }
    return zip(a.data, b.data).map { abs($0 - $1) }.max() ?? 0
}

func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return .infinity }
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

func run(_ op: some Operator, _ inputs: Tensor..., options: RunOptions = RunOptions()) -> (output: Tensor, trace: LayerTrace?) {
    op.forward(inputs, options: options)
}

/// The error message `outputShape` throws, or nil when the shapes are accepted.
func shapeError(_ op: some Operator, _ inputs: [[Int]]) -> String? {
    do {
        _ = try op.outputShape(for: inputs)
        return nil
    } catch {
        return error.message
    }
}

/// A textbook convolution, written independently of `ConvProblem`: every output element is a
/// sum over its window with an explicit bounds test. Slow, obviously right, used as an oracle.
func naiveConvolution(_ x: Tensor, weight: Tensor, bias: Tensor?, geometry g: ConvGeometry) -> Tensor {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (outC, inPerGroup, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
    let outH = (h + g.padTop + g.padBottom - g.dilationH * (kh - 1) - 1) / g.strideH + 1
    let outW = (w + g.padLeft + g.padRight - g.dilationW * (kw - 1) - 1) / g.strideW + 1
    let outPerGroup = outC / g.groups
    var y = [Float](repeating: 0, count: n * outC * outH * outW)
    for b in 0..<n {
        for oc in 0..<outC {
            let group = oc / outPerGroup
            for oh in 0..<outH {
                for ow in 0..<outW {
                    var sum = bias?.data[oc] ?? 0
                    for i in 0..<inPerGroup {
                        let ic = group * inPerGroup + i
                        for ky in 0..<kh {
                            for kx in 0..<kw {
                                let ih = oh * g.strideH - g.padTop + ky * g.dilationH
                                let iw = ow * g.strideW - g.padLeft + kx * g.dilationW
                                guard ih >= 0, ih < h, iw >= 0, iw < w else { continue }
                                sum += x.data[((b * c + ic) * h + ih) * w + iw]
                                    * weight.data[((oc * inPerGroup + i) * kh + ky) * kw + kx]
                            }
                        }
                    }
                    y[((b * outC + oc) * outH + oh) * outW + ow] = sum
                }
            }
        }
    }
    return Tensor(shape: [n, outC, outH, outW], data: y)
}

/// An attention/hyper MLP whose weights are all zero, so its logits are exactly `fc2Bias`.
func constantMLP(inputs: Int, hidden: Int, logits: [Float]) -> AttentionMLP {
    AttentionMLP(fc1Weight: Tensor(zeros: [hidden, inputs]), fc1Bias: Tensor(zeros: [hidden]),
                 fc2Weight: Tensor(zeros: [logits.count, hidden]), fc2Bias: tensor([logits.count], logits))
}

func randomMLP(_ rng: inout TestRandom, inputs: Int, hidden: Int, outputs: Int, scale: Float = 1) -> AttentionMLP {
    AttentionMLP(fc1Weight: rng.tensor([hidden, inputs], scale: scale), fc1Bias: rng.tensor([hidden], scale: scale),
                 fc2Weight: rng.tensor([outputs, hidden], scale: scale), fc2Bias: rng.tensor([outputs], scale: scale))
}

func randomBatchNorm(_ rng: inout TestRandom, channels: Int) -> BatchNorm {
    BatchNorm(gamma: Tensor(shape: [channels], data: rng.values(channels).map { 1 + 0.5 * $0 }),
              beta: rng.tensor([channels], scale: 0.5),
              mean: rng.tensor([channels], scale: 0.5),
              variance: Tensor(shape: [channels], data: rng.values(channels).map { 1 + 0.5 * $0 }),
              eps: 1e-5)
}
