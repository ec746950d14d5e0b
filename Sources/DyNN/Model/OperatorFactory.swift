/// Turns one `NodeSpec` into a typed operator: reads and checks its attributes, fetches its weights
/// with the shapes implied by the attributes and the inferred input shapes, and rejects anything
/// left over. Input shapes include the batch dimension.
struct OperatorFactory {
    /// `ModelSpec.temperature`, the default tau of dynamic convolutions.
    var modelTemperature: Float

    func build(_ node: NodeSpec, kind: OpKind, inputShapes: [[Int]], supply: WeightSupply) throws(ModelError) -> any Operator {
        var attrs = NodeAttributes(node: node)
        var weights = NodeWeights(node: node, supply: supply)
        let op: any Operator
        switch kind {
        case .conv2d:
            op = try conv2d(node, inputShapes[0], &attrs, &weights)
        case .dynamicConv2d where inputShapes.count == 2:
            op = try routedDynamicConv2d(node, inputShapes, &attrs, &weights)
        case .dynamicConv2d:
            op = try dynamicConv2d(node, inputShapes[0], &attrs, &weights)
        case .expertRouting:
            op = try expertRouting(node, inputShapes[0], &attrs, &weights)
        case .dyReLU:
            op = try dyReLU(node, inputShapes[0], &attrs, &weights)
        case .batchNorm:
            op = try batchNorm(node, inputShapes[0], &attrs, &weights)
        case .normalize:
            let channels = try requireRank(node, inputShapes[0], atLeast: 2)[1]
            let mean = try attrs.floats("mean", count: channels)
            let std = try attrs.floats("std", count: channels)
            guard std.allSatisfy({ $0 != 0 }) else {
                throw .invalidAttribute(node: node.name, attribute: "std", expected: "non-zero values", actual: "\(std)")
            }
            op = Normalize(mean: mean, std: std)
        case .relu: op = Activation(.relu)
        case .relu6: op = Activation(.relu6)
        case .hardSwish: op = Activation(.hardSwish)
        case .sigmoid: op = Activation(.sigmoid)
        case .silu: op = Activation(.silu)
        case .hardSigmoid: op = Activation(.hardSigmoid)
        case .add: op = Add()
        case .mul: op = Mul()
        case .globalAvgPool: op = GlobalAvgPool()
        case .avgPool2d:
            let geometry = try Self.geometry(&attrs, convolution: false)
            op = Pool2d(kind: .average, geometry: geometry, countIncludePad: try attrs.bool("count_include_pad", default: true))
        case .maxPool2d:
            op = Pool2d(kind: .max, geometry: try Self.geometry(&attrs, convolution: false))
        case .flatten: op = Flatten()
        case .linear:
            let features = try requireRank(node, inputShapes[0], exactly: 2)[1]
            let out = try attrs.int("out_features")
            let weight = try weights.required("weight", shape: [out, features], .weight(fanIn: features))
            let bias = try weights.optional("bias", shape: [out], .bias(fanIn: features))
            op = Linear(weight: weight, bias: bias)
        case .softmax:
            let rank = inputShapes[0].count
            var axis = try attrs.int("axis", default: 1, minimum: -rank)
            if axis < 0 { axis += rank }
            op = Softmax(axis: axis)
        }
        try attrs.finish()
        try weights.finish()
        return op
    }

    /// Kernel, stride, padding, and for convolutions dilation and groups.
    static func geometry(_ attrs: inout NodeAttributes, convolution: Bool) throws(ModelError) -> ConvGeometry {
        let kernel = try attrs.pair("kernel_size")
        let stride = try attrs.pair("stride", default: (1, 1))
        let padding = try attrs.padding()
        let dilation = convolution ? try attrs.pair("dilation", default: (1, 1)) : (1, 1)
        let groups = convolution ? try attrs.int("groups", default: 1) : 1
        return ConvGeometry(kernelH: kernel.0, kernelW: kernel.1, strideH: stride.0, strideW: stride.1,
                            padTop: padding.top, padLeft: padding.left, padBottom: padding.bottom, padRight: padding.right,
                            dilationH: dilation.0, dilationW: dilation.1, groups: groups)
    }

    private func requireRank(_ node: NodeSpec, _ shape: [Int], exactly rank: Int) throws(ModelError) -> [Int] {
        guard shape.count == rank else {
            throw .shape(node: node.name, message: "\(node.op) needs a rank-\(rank) input, got \(formatShape(shape))")
        }
        return shape
    }

    private func requireRank(_ node: NodeSpec, _ shape: [Int], atLeast rank: Int) throws(ModelError) -> [Int] {
        guard shape.count >= rank else {
            throw .shape(node: node.name, message: "\(node.op) needs an input of rank >= \(rank), got \(formatShape(shape))")
        }
        return shape
    }

    /// Input channels and output channels per group, after checking divisibility.
    private func groupedChannels(_ node: NodeSpec, input: Int, output: Int, groups: Int) throws(ModelError) -> Int {
        guard input % groups == 0, output % groups == 0 else {
            throw .shape(node: node.name, message: "in_channels \(input) and out_channels \(output) must both be divisible by groups \(groups)")
        }
        return input / groups
    }

    private func conv2d(_ node: NodeSpec, _ input: [Int], _ attrs: inout NodeAttributes, _ weights: inout NodeWeights) throws(ModelError) -> Conv2d {
        let channels = try requireRank(node, input, exactly: 4)[1]
        let out = try attrs.int("out_channels")
        let geometry = try Self.geometry(&attrs, convolution: true)
        let perGroup = try groupedChannels(node, input: channels, output: out, groups: geometry.groups)
        let fanIn = perGroup * geometry.kernelH * geometry.kernelW
        let weight = try weights.required("weight", shape: [out, perGroup, geometry.kernelH, geometry.kernelW], .weight(fanIn: fanIn))
        let bias = try weights.optional("bias", shape: [out], .bias(fanIn: fanIn))
        return Conv2d(weight: weight, bias: bias, geometry: geometry)
    }

    /// `hidden` of an attention or hyper network: read from `fc1_weight` when stored, otherwise
    /// `max(in / reduction, min_hidden)`.
    private func hiddenSize(_ weights: NodeWeights, input: Int, reductionDefault: Int,
                            _ attrs: inout NodeAttributes) throws(ModelError) -> Int {
        let reduction = try attrs.int("reduction", default: reductionDefault)
        let minHidden = try attrs.int("min_hidden", default: 4)
        if let stored = weights.storedShape("fc1_weight"), stored.count == 2, stored[0] >= 1 { return stored[0] }
        return max(input / reduction, minHidden)
    }

    private func attention(_ weights: inout NodeWeights, input: Int, hidden: Int, outputs: Int) throws(ModelError) -> AttentionMLP {
        let fc1Weight = try weights.required("fc1_weight", shape: [hidden, input], .weight(fanIn: input))
        let fc1Bias = try weights.optional("fc1_bias", shape: [hidden], .bias(fanIn: input))
        let fc2Weight = try weights.required("fc2_weight", shape: [outputs, hidden], .weight(fanIn: hidden))
        let fc2Bias = try weights.optional("fc2_bias", shape: [outputs], .bias(fanIn: hidden))
        return AttentionMLP(fc1Weight: fc1Weight, fc1Bias: fc1Bias, fc2Weight: fc2Weight, fc2Bias: fc2Bias)
    }

    private func dynamicConv2d(_ node: NodeSpec, _ input: [Int], _ attrs: inout NodeAttributes,
                               _ weights: inout NodeWeights) throws(ModelError) -> DynamicConv2d {
        let channels = try requireRank(node, input, exactly: 4)[1]
        let out = try attrs.int("out_channels")
        let experts = try attrs.int("experts")
        let geometry = try Self.geometry(&attrs, convolution: true)
        let routing: Routing = try attrs.choice("routing", options: [.softmax, .sigmoid], default: .softmax)
        let temperature = try attrs.optionalFloat("temperature", positive: true) ?? modelTemperature
        let hidden = try hiddenSize(weights, input: channels, reductionDefault: 4, &attrs)
        let perGroup = try groupedChannels(node, input: channels, output: out, groups: geometry.groups)
        let fanIn = perGroup * geometry.kernelH * geometry.kernelW
        let kernels = try weights.required("weight", shape: [experts, out, perGroup, geometry.kernelH, geometry.kernelW],
                                           .weight(fanIn: fanIn))
        let bias = try weights.optional("bias", shape: [experts, out], .bias(fanIn: fanIn))
        let mlp = try attention(&weights, input: channels, hidden: hidden, outputs: experts)
        return DynamicConv2d(experts: kernels, expertBias: bias, attention: mlp, routing: routing,
                             temperature: temperature, geometry: geometry)
    }

    /// The attributes a 2-input `dynamic_conv2d` must not have: they configure an attention network it
    /// does not have (its routing weights come from its second input).
    static let externalRoutingExcludes = ["routing", "temperature", "reduction", "min_hidden"]

    private func routedDynamicConv2d(_ node: NodeSpec, _ inputs: [[Int]], _ attrs: inout NodeAttributes,
                                     _ weights: inout NodeWeights) throws(ModelError) -> RoutedDynamicConv2d {
        let reason = "a dynamic_conv2d with 2 inputs takes its routing weights from \"\(node.inputs[1])\""
        if let attribute = Self.externalRoutingExcludes.first(where: { node.attrs[$0] != nil }) {
            throw .attributeNotAllowed(node: node.name, attribute: attribute, reason: reason)
        }
        if let role = node.weights.keys.sorted().first(where: { $0 != "weight" && $0 != "bias" }) {
            throw .unknownWeightRole(node: node.name, op: "dynamic_conv2d with 2 inputs (external routing)", role: role)
        }
        let channels = try requireRank(node, inputs[0], exactly: 4)[1]
        let out = try attrs.int("out_channels")
        let experts = try attrs.int("experts")
        let routingShape = inputs[1]
        guard routingShape.count == 2 else {
            throw .shape(node: node.name, message: "dynamic_conv2d routing input \"\(node.inputs[1])\" must be [N, K], got \(formatShape(routingShape))")
        }
        guard routingShape[1] == experts else {
            throw .invalidAttribute(node: node.name, attribute: "experts",
                                    expected: "\(routingShape[1]) (K of routing input \"\(node.inputs[1])\", \(formatShape(routingShape)))",
                                    actual: "\(experts)")
        }
        let geometry = try Self.geometry(&attrs, convolution: true)
        let perGroup = try groupedChannels(node, input: channels, output: out, groups: geometry.groups)
        let fanIn = perGroup * geometry.kernelH * geometry.kernelW
        let kernels = try weights.required("weight", shape: [experts, out, perGroup, geometry.kernelH, geometry.kernelW],
                                           .weight(fanIn: fanIn))
        let bias = try weights.optional("bias", shape: [experts, out], .bias(fanIn: fanIn))
        return RoutedDynamicConv2d(experts: kernels, expertBias: bias, geometry: geometry, routedBy: node.inputs[1])
    }

    private func expertRouting(_ node: NodeSpec, _ input: [Int], _ attrs: inout NodeAttributes,
                               _ weights: inout NodeWeights) throws(ModelError) -> ExpertRouting {
        guard input.count == 4 || input.count == 2 else {
            throw .shape(node: node.name, message: "expert_routing needs a rank-4 [N, C, H, W] or rank-2 [N, C] input, got \(formatShape(input))")
        }
        let channels = input[1]
        let experts = try attrs.int("experts")
        let routing: Routing = try attrs.choice("routing", options: [.sigmoid, .softmax])
        var temperature = modelTemperature
        if routing == .sigmoid {
            if node.attrs["temperature"] != nil {
                throw .attributeNotAllowed(node: node.name, attribute: "temperature", reason: "sigmoid routing has no temperature")
            }
        } else {
            temperature = try attrs.optionalFloat("temperature", positive: true) ?? modelTemperature
        }
        let weight = try weights.required("weight", shape: [experts, channels], .weight(fanIn: channels))
        let bias = try weights.optional("bias", shape: [experts], .bias(fanIn: channels))
        return ExpertRouting(weight: weight, bias: bias, routing: routing, temperature: temperature)
    }

    private func dyReLU(_ node: NodeSpec, _ input: [Int], _ attrs: inout NodeAttributes, _ weights: inout NodeWeights) throws(ModelError) -> DyReLU {
        let channels = try requireRank(node, input, exactly: 4)[1]
        let variant: DyReLUVariant = try attrs.choice("variant", options: [.a, .b, .c])
        let pieces = try attrs.int("pieces", default: 2)
        let layout: CoefficientLayout = try attrs.choice("layout", options: [.paper, .perChannel, .pairs])
        let squash: Squash = try attrs.choice("squash", options: [.sigmoid, .hardSigmoid])
        let lambdaA = try attrs.float("lambda_a", default: 1.0)
        let lambdaB = try attrs.float("lambda_b", default: 0.5)
        let alpha = try attrs.floats("alpha", count: pieces, default: [1] + [Float](repeating: 0, count: pieces - 1))
        let beta = try attrs.floats("beta", count: pieces, default: [Float](repeating: 0, count: pieces))
        let learnsIntercepts = try attrs.bool("bias", default: true)
        let hidden = try hiddenSize(weights, input: channels, reductionDefault: 8, &attrs)
        var spatialTau: Float = 10
        var spatialGamma: Float?
        if variant == .c {
            spatialTau = try attrs.float("spatial_tau", default: 10, positive: true)
            spatialGamma = try attrs.optionalFloat("spatial_gamma", positive: true)
        }
        let coefficients = (learnsIntercepts ? 2 : 1) * pieces * (variant == .a ? 1 : channels)
        let hyper = try attention(&weights, input: channels, hidden: hidden, outputs: coefficients)
        var spatial: SpatialAttention?
        if variant == .c {
            let weight = try weights.required("spatial_weight", shape: [1, channels, 1, 1], .weight(fanIn: channels))
            let bias = try weights.optional("spatial_bias", shape: [1], .bias(fanIn: channels))
            spatial = SpatialAttention(weight: weight.reshaped([channels]), bias: bias?.data[0] ?? 0, tau: spatialTau, gamma: spatialGamma)
        }
        return DyReLU(variant: variant, pieces: pieces, hyper: hyper, layout: layout, squash: squash, lambdaA: lambdaA,
                      lambdaB: lambdaB, alpha: alpha, beta: beta, spatial: spatial, learnsIntercepts: learnsIntercepts)
    }

    private func batchNorm(_ node: NodeSpec, _ input: [Int], _ attrs: inout NodeAttributes, _ weights: inout NodeWeights) throws(ModelError) -> BatchNorm {
        let channels = try requireRank(node, input, atLeast: 2)[1]
        let eps = try attrs.float("eps", default: 1e-5)
        guard eps >= 0 else { throw .invalidAttribute(node: node.name, attribute: "eps", expected: "a number >= 0", actual: "\(eps)") }
        let gamma = try weights.required("weight", shape: [channels], .range(0.5, 1.5))
        let beta = try weights.required("bias", shape: [channels], .range(-0.1, 0.1))
        let mean = try weights.required("running_mean", shape: [channels], .range(-0.1, 0.1))
        let variance = try weights.required("running_var", shape: [channels], .range(0.5, 1.5))
        if let index = variance.data.firstIndex(where: { !($0 + eps > 0) }) {
            throw .inconsistentWeights(node: node.name, reason: "running_var[\(index)] + eps = \(variance.data[index] + eps) must be positive")
        }
        return BatchNorm(gamma: gamma, beta: beta, mean: mean, variance: variance, eps: eps)
    }
}
