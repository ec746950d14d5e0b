/// What one dynamic layer did for each sample of a batch. The engine fills `name`; ops fill the rest.
public struct LayerTrace: Sendable, Equatable, Codable {
    public var name: String
    public var op: String
    public var attention: AttentionTrace?
    public var activation: ActivationTrace?
    /// A dynamic convolution routed by another node (2-input `dynamic_conv2d`): that node's name. Its
    /// routing weights are in that node's trace (an `expert_routing`), reported once for all it routes.
    public var routedBy: String?

    public init(name: String = "", op: String, attention: AttentionTrace? = nil, activation: ActivationTrace? = nil,
                routedBy: String? = nil) {
        self.name = name
        self.op = op
        self.attention = attention
        self.activation = activation
        self.routedBy = routedBy
    }

    private enum CodingKeys: String, CodingKey {
        case name, op, attention, activation
        case routedBy = "routed_by"
    }
}

/// A dynamic convolution's routing weights.
public struct AttentionTrace: Sendable, Equatable, Codable {
    /// `softmax` or `sigmoid`.
    public var routing: String
    /// The tau actually used (softmax routing only; 1 for sigmoid).
    public var temperature: Float
    /// pi per sample: `pi[n][k]`.
    public var pi: [[Float]]
    /// Entropy in nats of pi per sample, normalised to sum 1 first (sigmoid routing need not sum to 1).
    public var entropy: [Float]

    public init(routing: String, temperature: Float, pi: [[Float]], entropy: [Float]) {
        self.routing = routing
        self.temperature = temperature
        self.pi = pi
        self.entropy = entropy
    }
}

extension AttentionTrace {
    /// The trace of routing weights `pi[n][k]` computed with `routing` and tau `temperature` (reported
    /// as 1 for sigmoid routing, which has none), with each sample's entropy.
    init(_ routing: Routing, temperature: Float, pi: [[Float]]) {
        self.init(routing: routing.rawValue, temperature: routing == .softmax ? temperature : 1, pi: pi,
                  entropy: pi.map(Probability.entropy))
    }
}

/// A DY-ReLU's piecewise-linear coefficients per sample.
public struct ActivationTrace: Sendable, Equatable, Codable {
    /// `A`, `B` or `C`.
    public var variant: String
    /// Number of linear pieces K.
    public var pieces: Int
    /// Channels the coefficients cover: 1 for variant A (shared), C otherwise.
    public var channels: Int
    /// Slopes per sample, `a[n][k * channels + c]`.
    public var a: [[Float]]
    /// Intercepts per sample, `b[n][k * channels + c]`.
    public var b: [[Float]]
    /// Variant C only: the spatial attention per sample, `spatial[n][h * width + w]`, each in [0, 1].
    public var spatial: [[Float]]?
    public var height: Int?
    public var width: Int?

    public init(variant: String, pieces: Int, channels: Int, a: [[Float]], b: [[Float]],
                spatial: [[Float]]? = nil, height: Int? = nil, width: Int? = nil) {
        self.variant = variant
        self.pieces = pieces
        self.channels = channels
        self.a = a
        self.b = b
        self.spatial = spatial
        self.height = height
        self.width = width
    }
}
