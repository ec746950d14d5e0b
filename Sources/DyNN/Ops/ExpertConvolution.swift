/// The convolution step shared by both forms of dynamic convolution: per sample
/// `W = sum_k pi_k W_k`, `b = sum_k pi_k b_k`, then the convolution with `W` and `b`.
enum ExpertConvolution {
    /// `experts`: `[K, out, in/groups, kh, kw]`; `expertBias`: `[K, out]`; `pi[n][k]` per sample.
    static func forward(_ x: Tensor, experts: Tensor, expertBias: Tensor?, pi: [[Float]], geometry: ConvGeometry,
                        outputShape outShape: [Int]) -> Tensor {
        let problem = ConvProblem(geometry: geometry, input: x.shape, output: outShape)
        let k = experts.shape[0]
        let weightCount = problem.weightCount
        let biasCount = problem.outChannels

        // One aggregated kernel at a time, reused across samples.
        var kernel = [Float](repeating: 0, count: weightCount)
        var bias = [Float](repeating: 0, count: biasCount)
        let output = [Float](unsafeUninitializedCapacity: outShape.reduce(1, *)) { out, initialized in
            x.data.withUnsafeBufferPointer { input in
                experts.data.withUnsafeBufferPointer { expertData in
                    withOptionalBuffer(expertBias) { expertBiasData in
                        for n in 0..<x.shape[0] {
                            // W = sum_k pi_k W_k, b = sum_k pi_k b_k
                            kernel.withUnsafeMutableBufferPointer { w in
                                w.update(repeating: 0)
                                for e in 0..<k {
                                    let p = pi[n][e]
                                    let source = expertData.baseAddress! + e * weightCount
                                    for i in 0..<weightCount { w[i] += p * source[i] }
                                }
                            }
                            if let expertBiasData {
                                for o in 0..<biasCount {
                                    var sum: Float = 0
                                    for e in 0..<k { sum += pi[n][e] * expertBiasData[e * biasCount + o] }
                                    bias[o] = sum
                                }
                            }
                            kernel.withUnsafeBufferPointer { w in
                                bias.withUnsafeBufferPointer { b in
                                    problem.convolveSample(
                                        input: input.baseAddress! + n * problem.inputSampleCount,
                                        weight: w.baseAddress!,
                                        bias: expertBiasData == nil ? nil : b.baseAddress!,
                                        output: out.baseAddress! + n * problem.outputSampleCount)
                                }
                            }
                        }
                    }
                }
            }
            initialized = out.count
        }
        return Tensor(shape: outShape, data: output)
    }

    /// Multiply-adds per sample of the convolution with the aggregated kernel plus the aggregation
    /// itself (`K * (weight + bias elements)`), for output shape `out`.
    static func macs(experts: Tensor, hasBias: Bool, output out: [Int]) -> Int {
        let expertShape = Array(experts.shape.dropFirst())
        let perOutput = expertShape[1] * expertShape[2] * expertShape[3]
        let convolution = out[1] * out[2] * out[3] * perOutput
        let expertElements = expertShape.reduce(1, *) + (hasBias ? out[1] : 0)
        return convolution + experts.shape[0] * expertElements
    }

    /// `experts` `[K, out, ...]` with every expert's output channel `oc` multiplied by `scale[oc]`
    /// (a batch norm's scale folded into each expert).
    static func scalingOutputChannels(_ experts: Tensor, by scale: [Float]) -> Tensor {
        let (k, outChannels) = (experts.shape[0], experts.shape[1])
        let perChannel = experts.count / (k * outChannels)
        var w = experts.data
        for e in 0..<k {
            for oc in 0..<outChannels {
                let base = (e * outChannels + oc) * perChannel
                for i in base..<(base + perChannel) { w[i] *= scale[oc] }
            }
        }
        return Tensor(shape: experts.shape, data: w)
    }
}
