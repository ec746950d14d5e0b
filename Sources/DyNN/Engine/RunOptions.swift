/// How much a forward pass records about its dynamic layers.
public enum TraceLevel: String, Sendable, Codable, Comparable, CaseIterable {
    /// Nothing: the cheapest path.
    case none
    /// Attention pi (and its entropy) for every dynamic convolution.
    case attention
    /// Attention, plus DY-ReLU coefficients a, b and DY-ReLU-C's spatial map.
    case full

    public static func < (lhs: TraceLevel, rhs: TraceLevel) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// Per-call settings of a forward pass.
public struct RunOptions: Sendable, Equatable {
    /// Overrides every dynamic convolution's softmax temperature tau when set.
    public var temperature: Float?
    public var trace: TraceLevel

    public init(temperature: Float? = nil, trace: TraceLevel = .none) {
        self.temperature = temperature
        self.trace = trace
    }
}
