/// How the fast backend runs one node of the graph, decided once when the engine is built.
enum FastNode {
    case normalize(Normalize)
    case convolution(StaticConvLayer)
    case dynamicConvolution(DynamicConvLayer)
    case activation(ActivationKind)
    /// An activation the producing convolution applies as a oneDNN post-op: no step of its own.
    case fusedActivation
    /// A batch norm folded into the externally routed dynamic convolution before it: no step of its own.
    case foldedBatchNorm
    case add
    case mul
    /// `ExpertRouting` on an NHWC input, writing its `[N, K]` tensor.
    case expertRouting(ExpertRouting)
    case dyReLU(DyReLUWeights)
    case globalAvgPool
    /// `Linear` on an `[N, in]` tensor as a oneDNN matmul.
    case linear(LinearLayer)
    /// Not covered (or oneDNN refused the shape): the reference op runs on NCHW tensors.
    case reference

    /// The label a profile shows for the node.
    func profileName(_ op: any Operator) -> String {
        switch self {
        case .convolution(let layer): layer.postOp.map { "\(op.opName)+\($0.rawValue)" } ?? op.opName
        case .dynamicConvolution(let layer): layer.postOp.map { "\(op.opName)+\($0.rawValue)" } ?? op.opName
        case .fusedActivation: "\(op.opName) (fused)"
        case .foldedBatchNorm: "\(op.opName) (folded)"
        case .reference: "\(op.opName) (reference)"
        default: op.opName
        }
    }
}
