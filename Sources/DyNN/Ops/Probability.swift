import Foundation

/// Numerically stable helpers for routing weights and their traces.
enum Probability {
    /// `softmax(z / temperature)`, computed as `exp((z - max z) / t) / sum` so large logits
    /// (or a small temperature) cannot overflow.
    static func softmax(_ logits: [Float], temperature: Float = 1) -> [Float] {
        guard let top = logits.max() else { return [] }
        var weights = logits.map { Foundation.exp(($0 - top) / temperature) }
        let total = weights.reduce(0, +)
        for i in weights.indices { weights[i] /= total }
        return weights
    }

    /// `1 / (1 + exp(-z))`, evaluated on the side where `exp` cannot overflow.
    static func sigmoid(_ z: Float) -> Float {
        if z >= 0 { return 1 / (1 + Foundation.exp(-z)) }
        let e = Foundation.exp(z)
        return e / (1 + e)
    }

    /// Entropy in nats of `weights` normalised to sum 1 first, with `0 * log 0 = 0`.
    /// Non-positive totals (all weights zero) have no distribution: entropy 0.
    static func entropy(_ weights: [Float]) -> Float {
        let total = weights.reduce(0, +)
        guard total > 0 else { return 0 }
        var h: Float = 0
        for w in weights where w > 0 {
            let p = w / total
            h -= p * Foundation.log(p)
        }
        return h
    }
}
