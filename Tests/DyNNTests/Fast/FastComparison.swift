import DyNN
import Testing

/// Compares a fast-backend result with the reference's: outputs and every trace field, each within
/// `tolerance` times the magnitude of the reference values (at least 1).
struct FastComparison {
    var tolerance: Float
    var context: String

    /// The largest deviation found in outputs, relative to the reference's scale.
    @discardableResult
    func compare(_ fast: RunResult, _ reference: RunResult) -> Float {
        #expect(fast.outputs.count == reference.outputs.count, "\(context): output count")
        var worst: Float = 0
        for (index, (f, r)) in zip(fast.outputs, reference.outputs).enumerated() {
            #expect(f.shape == r.shape, "\(context): output \(index) shape \(f.shape) vs \(r.shape)")
            worst = max(worst, close(f.data, r.data, "output \(index)"))
        }
        #expect(fast.trace.map(\.name) == reference.trace.map(\.name), "\(context): traced layers")
        #expect(fast.trace.map(\.op) == reference.trace.map(\.op), "\(context): traced ops")
        for (f, r) in zip(fast.trace, reference.trace) {
            let layer = r.name
            #expect(f.routedBy == r.routedBy, "\(context)/\(layer): routed_by")
            #expect((f.attention == nil) == (r.attention == nil), "\(context)/\(layer): attention present")
            if let a = f.attention, let e = r.attention {
                #expect(a.routing == e.routing && a.temperature == e.temperature, "\(context)/\(layer): routing")
                #expect(a.pi.map(\.count) == e.pi.map(\.count), "\(context)/\(layer): pi shape")
                close(a.pi.flatMap { $0 }, e.pi.flatMap { $0 }, "\(layer) pi")
                close(a.entropy, e.entropy, "\(layer) entropy")
            }
            #expect((f.activation == nil) == (r.activation == nil), "\(context)/\(layer): activation present")
            if let a = f.activation, let e = r.activation {
                #expect(a.variant == e.variant && a.pieces == e.pieces && a.channels == e.channels
                        && a.height == e.height && a.width == e.width, "\(context)/\(layer): DY-ReLU shape")
                #expect(a.a.map(\.count) == e.a.map(\.count) && a.b.map(\.count) == e.b.map(\.count), "\(context)/\(layer): a, b shape")
                close(a.a.flatMap { $0 }, e.a.flatMap { $0 }, "\(layer) a")
                close(a.b.flatMap { $0 }, e.b.flatMap { $0 }, "\(layer) b")
                #expect((a.spatial == nil) == (e.spatial == nil), "\(context)/\(layer): spatial present")
                close((a.spatial ?? []).flatMap { $0 }, (e.spatial ?? []).flatMap { $0 }, "\(layer) spatial")
            }
        }
        return worst
    }

    /// Max |a - e| / max(1, max |e|); expects it within tolerance and returns it.
    @discardableResult
    func close(_ actual: [Float], _ expected: [Float], _ what: String) -> Float {
        #expect(actual.count == expected.count, "\(context): \(what) has \(actual.count) values, expected \(expected.count)")
        let scale = max(1, expected.map(abs).max() ?? 0)
        let error = zip(actual, expected).map { abs($0 - $1) }.max() ?? 0
        #expect(error <= tolerance * scale, "\(context): \(what) differs by \(error), allowed \(tolerance * scale)")
        return error / scale
    }
}

/// Deterministic pseudo-random inputs (SplitMix64), uniform in [0, 1).
enum SeededInput {
    static func uniform(_ shape: [Int], seed: UInt64) -> Tensor {
        var generator = SplitMix64(seed: seed)
        let data = (0..<shape.reduce(1, *)).map { _ in Float(generator.next() >> 40) / Float(1 << 24) }
        return Tensor(shape: shape, data: data)
    }

    /// Sample `n` of a batch, as a batch of one.
    static func sample(_ tensor: Tensor, _ n: Int) -> Tensor {
        let size = tensor.count / tensor.shape[0]
        return Tensor(shape: [1] + tensor.shape.dropFirst(), data: Array(tensor.data[(n * size)..<((n + 1) * size)]))
    }
}
