/// The reference computation of Dynamic ReLU (Chen et al., ECCV 2020), variants A, B and C.
extension DyReLU {
    /// Channels with their own coefficients: 1 for variant A (shared by all channels), C otherwise.
    func coefficientChannels(channels: Int) -> Int { variant == .a ? 1 : channels }

    /// How many values the hyper function outputs: `2 K cc`, or `K cc` without intercepts.
    func hyperOutputs(channels: Int) -> Int {
        (learnsIntercepts ? 2 : 1) * pieces * coefficientChannels(channels: channels)
    }

    /// Slopes and intercepts of one sample, each `[K * coefficientChannels]` indexed `k * channels + c`:
    /// `a^k_c = alpha_k + lambdaA * da^k_c`, `b^k_c = beta_k + lambdaB * db^k_c`, with the residuals
    /// `(da, db) = squash(hyper(GAP(x)))` read in `layout` order; without learned intercepts `b^k_c = beta_k`.
    func coefficients(pooled: [Float], coefficientChannels cc: Int) -> (a: [Float], b: [Float]) {
        let theta = hyper.logits(pooled: pooled).map { squash($0) }
        var a = [Float](repeating: 0, count: pieces * cc)
        var b = [Float](repeating: 0, count: pieces * cc)
        for k in 0..<pieces {
            for c in 0..<cc {
                let da = theta[layout.slopeIndex(piece: k, channel: c, pieces: pieces, channels: cc,
                                                 intercepts: learnsIntercepts)]
                a[k * cc + c] = alpha[k] + lambdaA * da
                if learnsIntercepts {
                    let db = theta[layout.interceptIndex(piece: k, channel: c, pieces: pieces, channels: cc)]
                    b[k * cc + c] = beta[k] + lambdaB * db
                } else {
                    b[k * cc + c] = beta[k]
                }
            }
        }
        return (a, b)
    }

    /// Variant C's spatial attention of one sample, `[H * W]`:
    /// `pi_hw = min(gamma * softmax_hw(z / tau), 1)` with `z_hw = sum_c w_c x_c,hw + bias`.
    func spatialMap(_ spatial: SpatialAttention, sample: UnsafePointer<Float>, channels: Int, plane: Int) -> [Float] {
        var z = [Float](repeating: spatial.bias, count: plane)
        z.withUnsafeMutableBufferPointer { z in
            for c in 0..<channels {
                let w = spatial.weight.data[c]
                let row = sample + c * plane
                for i in 0..<plane { z[i] += w * row[i] }
            }
        }
        let gamma = spatial.gamma ?? Float(plane) / 3
        return Probability.softmax(z, temperature: spatial.tau).map { min(gamma * $0, 1) }
    }
}

extension DyReLU: Operator {
    public var opName: String { "dy_relu" }
    public var arity: Int { 1 }

    public func outputShape(for inputs: [[Int]]) throws(ShapeError) -> [Int] {
        try ShapeChecks.arity(inputs, 1, op: opName)
        let shape = inputs[0]
        try ShapeChecks.nchw(shape, op: opName)
        let channels = shape[1]
        guard pieces >= 1 else { throw ShapeError("dy_relu pieces \(pieces) must be at least 1") }
        guard alpha.count == pieces, beta.count == pieces else {
            throw ShapeError("dy_relu has \(pieces) pieces but \(alpha.count) alpha and \(beta.count) beta values")
        }
        let outputs = hyperOutputs(channels: channels)
        try hyper.validate(channels: channels, outputs: outputs, owner: "dy_relu (variant \(variant.rawValue))")
        switch (variant, spatial) {
        case (.c, nil):
            throw ShapeError("dy_relu variant C needs a spatial attention (spatial_weight)")
        case (.c, let spatial?):
            guard spatial.weight.count == channels else {
                throw ShapeError("dy_relu input has \(channels) channels, spatial_weight has \(spatial.weight.count)")
            }
        case (_, .some):
            throw ShapeError("dy_relu variant \(variant.rawValue) has no spatial attention; only C does")
        case (_, nil):
            break
        }
        return shape
    }

    public func forward(_ inputs: [Tensor], options: RunOptions) -> (output: Tensor, trace: LayerTrace?) {
        let x = inputs[0]
        _ = validatedOutputShape(inputs)
        let (batch, channels) = (x.shape[0], x.shape[1])
        let (height, width) = (x.shape[2], x.shape[3])
        let plane = height * width
        let cc = coefficientChannels(channels: channels)
        let pooled = GlobalAvgPool.channelMeans(of: x)
        let recordTrace = options.trace == .full

        var traceA: [[Float]] = [], traceB: [[Float]] = [], traceSpatial: [[Float]] = []
        var y = [Float](repeating: 0, count: x.count)
        x.data.withUnsafeBufferPointer { input in
            y.withUnsafeMutableBufferPointer { out in
                for n in 0..<batch {
                    let (a, b) = coefficients(pooled: pooled[n], coefficientChannels: cc)
                    let sample = input.baseAddress! + n * channels * plane
                    // y = max_k (a^k x + b^k), one channel plane at a time.
                    for c in 0..<channels {
                        let coefficient = variant == .a ? 0 : c
                        let source = sample + c * plane
                        let target = out.baseAddress! + (n * channels + c) * plane
                        let a0 = a[coefficient], b0 = b[coefficient]
                        for i in 0..<plane { target[i] = a0 * source[i] + b0 }
                        for k in 1..<pieces {
                            let ak = a[k * cc + coefficient], bk = b[k * cc + coefficient]
                            for i in 0..<plane { target[i] = max(target[i], ak * source[i] + bk) }
                        }
                    }
                    if variant == .c, let spatial {
                        let map = spatialMap(spatial, sample: sample, channels: channels, plane: plane)
                        for c in 0..<channels {
                            let target = out.baseAddress! + (n * channels + c) * plane
                            for i in 0..<plane { target[i] *= map[i] }
                        }
                        if recordTrace { traceSpatial.append(map) }
                    }
                    if recordTrace {
                        traceA.append(a)
                        traceB.append(b)
                    }
                }
            }
        }

        var trace: LayerTrace?
        if recordTrace {
            let isC = variant == .c
            trace = LayerTrace(op: opName, activation: ActivationTrace(
                variant: variant.rawValue, pieces: pieces, channels: cc, a: traceA, b: traceB,
                spatial: isC ? traceSpatial : nil, height: isC ? height : nil, width: isC ? width : nil))
        }
        return (Tensor(shape: x.shape, data: y), trace)
    }

    /// MACs: the GAP, the hyper MLP, K multiply-adds per element for the pieces, and for
    /// variant C the 1x1 spatial convolution. Parameters: the hyper MLP and the spatial conv
    /// (alpha and beta are hyper-parameters, not counted).
    public func cost(for inputs: [[Int]]) -> OpCost {
        let spatialParameters = spatial.map { $0.weight.count + 1 } ?? 0
        let parameters = hyper.parameterCount + spatialParameters
        guard inputs.count == 1, inputs[0].count == 4 else { return OpCost(parameters: parameters, macs: 0) }
        let (channels, height, width) = (inputs[0][1], inputs[0][2], inputs[0][3])
        let elements = channels * height * width
        var macs = hyper.macs(channels: channels, height: height, width: width) + pieces * elements
        if variant == .c { macs += elements }
        return OpCost(parameters: parameters, macs: macs)
    }
}
