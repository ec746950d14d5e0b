/// Element-wise activations without parameters.
public enum ActivationKind: String, Sendable, Codable {
    case relu, relu6
    case hardSwish = "hard_swish"
    case sigmoid
}

public struct Activation: Sendable {
    public var kind: ActivationKind
    public init(_ kind: ActivationKind) { self.kind = kind }
}

/// `y = (x - mean[c]) / std[c]`: input normalisation carried by the model.
public struct Normalize: Sendable {
    public var mean: [Float]
    public var std: [Float]
    public init(mean: [Float], std: [Float]) {
        self.mean = mean
        self.std = std
    }
}

/// Element-wise sum of two tensors of the same shape (residual connections).
public struct Add: Sendable {
    public init() {}
}

/// Mean over H and W: `[N, C, H, W] -> [N, C, 1, 1]`.
public struct GlobalAvgPool: Sendable {
    public init() {}
}

public enum PoolKind: String, Sendable, Codable {
    case average, max
}

/// `avg_pool2d` / `max_pool2d`. Padded cells count as zero in the average when `countIncludePad`
/// (PyTorch's default) and never win the max.
public struct Pool2d: Sendable {
    public var kind: PoolKind
    public var geometry: ConvGeometry
    public var countIncludePad: Bool
    public init(kind: PoolKind, geometry: ConvGeometry, countIncludePad: Bool = true) {
        self.kind = kind
        self.geometry = geometry
        self.countIncludePad = countIncludePad
    }
}

/// `[N, d1, d2, ...] -> [N, d1 * d2 * ...]`.
public struct Flatten: Sendable {
    public init() {}
}

/// `y = x W^T + b`, x `[N, in]`, W `[out, in]`.
public struct Linear: Sendable {
    public var weight: Tensor
    public var bias: Tensor?
    public init(weight: Tensor, bias: Tensor?) {
        self.weight = weight
        self.bias = bias
    }
}

/// Softmax over `axis` (1 for `[N, classes]`).
public struct Softmax: Sendable {
    public var axis: Int
    public init(axis: Int = 1) { self.axis = axis }
}
