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
    case add
    case globalAvgPool = "global_avg_pool"
    case avgPool2d = "avg_pool2d"
    case maxPool2d = "max_pool2d"
    case flatten
    case linear
    case softmax

    var arity: Int { self == .add ? 2 : 1 }
}
