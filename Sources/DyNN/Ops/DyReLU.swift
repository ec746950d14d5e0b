/// DY-ReLU variants (Chen et al., ECCV 2020).
public enum DyReLUVariant: String, Sendable, Codable {
    /// Spatial- and channel-shared: 2K coefficients.
    case a = "A"
    /// Channel-wise: 2KC coefficients.
    case b = "B"
    /// Channel-wise times a spatial attention.
    case c = "C"
}

/// The order of the hyper function's 2K (A) or 2KC (B, C) outputs; without learned intercepts
/// (`bias: false`) only the K (A) or KC (B, C) slopes.
public enum CoefficientLayout: String, Sendable, Codable {
    /// The paper's: a^1..a^K then b^1..b^K, each a block of C. Index of a^k_c: `k*C + c`; b^k_c: `(K+k)*C + c`.
    case paper
    /// Per channel interleaved: `[a^1..a^K, b^1..b^K]` for channel 0, then channel 1, ... Index of a^k_c: `c*2K + k`; b^k_c: `c*2K + K + k`.
    case perChannel = "per_channel"
    /// Blocks of C in the order a^1 | b^1 | a^2 | b^2 | ... Index of a^k_c: `2k*C + c`; b^k_c: `(2k+1)*C + c`.
    case pairs
}

extension CoefficientLayout {
    /// Index of the slope residual `da^k_c` among `2 * pieces * channels` outputs (k, c from 0), or among
    /// `pieces * channels` when the hyper function outputs no intercepts (`intercepts: false`): then
    /// `paper` and `pairs` are `k*C + c`, `per_channel` is `c*K + k`.
    public func slopeIndex(piece k: Int, channel c: Int, pieces: Int, channels: Int, intercepts: Bool = true) -> Int {
        let perChannelBlock = intercepts ? 2 * pieces : pieces
        return switch self {
        case .paper: k * channels + c
        case .perChannel: c * perChannelBlock + k
        case .pairs: (intercepts ? 2 * k : k) * channels + c
        }
    }

    /// Index of the intercept residual `db^k_c`.
    public func interceptIndex(piece k: Int, channel c: Int, pieces: Int, channels: Int) -> Int {
        switch self {
        case .paper: (pieces + k) * channels + c
        case .perChannel: c * 2 * pieces + pieces + k
        case .pairs: (2 * k + 1) * channels + c
        }
    }
}

/// How the hyper function's outputs are normalised to [-1, 1].
public enum Squash: String, Sendable, Codable {
    /// `2 sigmoid(z) - 1` (the paper).
    case sigmoid
    /// `2 relu6(z + 3) / 6 - 1` (hard sigmoid, as some public code does).
    case hardSigmoid = "hard_sigmoid"
}

extension Squash {
    /// Maps a logit to [-1, 1].
    public func callAsFunction(_ z: Float) -> Float {
        switch self {
        case .sigmoid: 2 * Probability.sigmoid(z) - 1
        case .hardSigmoid: 2 * min(max(z + 3, 0), 6) / 6 - 1
        }
    }
}

/// DY-ReLU-C's spatial branch: `pi_hw = min(gamma * softmax_hw(z / tau), 1)`, z = 1x1 conv C -> 1.
public struct SpatialAttention: Sendable {
    /// `[C]`: the 1x1 convolution's weights.
    public var weight: Tensor
    public var bias: Float
    public var tau: Float
    /// nil: `H * W / 3` of the input, as in the paper.
    public var gamma: Float?

    public init(weight: Tensor, bias: Float, tau: Float = 10, gamma: Float? = nil) {
        self.weight = weight
        self.bias = bias
        self.tau = tau
        self.gamma = gamma
    }
}

/// Dynamic ReLU: `y_c = max_k (a^k_c(x) x_c + b^k_c(x))`, with
/// `a^k = alpha^k + lambdaA * da^k`, `b^k = beta^k + lambdaB * db^k`, `(da, db) = squash(MLP(GAP(x)))`.
/// Variant C multiplies the result by the spatial attention pi_hw. Without learned intercepts
/// (`learnsIntercepts` false, attribute `bias: false`) the hyper function outputs slopes only and `b^k = beta^k`.
public struct DyReLU: Sendable {
    public var variant: DyReLUVariant
    /// K, the number of linear pieces.
    public var pieces: Int
    /// Outputs 2K (A) or 2KC (B, C) logits in `layout` order.
    public var hyper: AttentionMLP
    public var layout: CoefficientLayout
    public var squash: Squash
    public var lambdaA: Float
    public var lambdaB: Float
    /// `[K]`, default `(1, 0, ...)`.
    public var alpha: [Float]
    /// `[K]`, default all 0.
    public var beta: [Float]
    /// Variant C only.
    public var spatial: SpatialAttention?
    /// Whether the hyper function outputs intercept residuals `db` (attribute `bias`, default true).
    public var learnsIntercepts: Bool

    public init(variant: DyReLUVariant, pieces: Int, hyper: AttentionMLP, layout: CoefficientLayout,
                squash: Squash, lambdaA: Float, lambdaB: Float, alpha: [Float], beta: [Float],
                spatial: SpatialAttention?, learnsIntercepts: Bool = true) {
        self.learnsIntercepts = learnsIntercepts
        self.variant = variant
        self.pieces = pieces
        self.hyper = hyper
        self.layout = layout
        self.squash = squash
        self.lambdaA = lambdaA
        self.lambdaB = lambdaB
        self.alpha = alpha
        self.beta = beta
        self.spatial = spatial
    }
}
