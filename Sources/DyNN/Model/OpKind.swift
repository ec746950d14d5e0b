/// Every op name `model.json` may use, with how many inputs it takes.
enum OpKind: String, CaseIterable {
    case conv2d
    case dynamicConv2d = "dynamic_conv2d"
    case dyReLU = "dy_relu"
    case batchNorm = "batch_norm"
    case normalize
    case relu, relu6
    case hardSwish = "hard_swish"
    case sigmoid
    case silu
    case hardSigmoid = "hard_sigmoid"
    case add
    case mul
    case expertRouting = "expert_routing"
    case globalAvgPool = "global_avg_pool"
    case avgPool2d = "avg_pool2d"
    case maxPool2d = "max_pool2d"
    case flatten
    case linear
    case softmax

    /// The input counts the op accepts: `dynamic_conv2d` takes its routing weights as an optional
    /// second input (external routing, e.g. CondConv's shared `routing_fn`).
    var arities: ClosedRange<Int> {
        switch self {
        case .add, .mul: 2...2
        case .dynamicConv2d: 1...2
        default: 1...1
        }
    }
}
