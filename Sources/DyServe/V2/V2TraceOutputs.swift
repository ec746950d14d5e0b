import DyNN

/// Turns a request's trace into extra V2 outputs, so protocol clients can read introspection
/// without a second call: per dynamic convolution with its own attention, and per `expert_routing` (the
/// routing it shares), `attention/<layer>` `[N, K]`; with `"full"`,
/// per DY-ReLU `dyrelu_a/<layer>` and `dyrelu_b/<layer>` `[N, K*C]` (index `k * C + c`, the trace's
/// layout) and, for DY-ReLU-C, `dyrelu_spatial/<layer>` `[N, H*W]`.
enum V2TraceOutputs {
    static func make(from layers: [LayerTrace], level: TraceLevel, binary: Bool) -> [V2OutputTensor] {
        guard level != .none else { return [] }
        var outputs: [V2OutputTensor] = []
        for layer in layers {
            if let a = layer.attention, let t = matrix("attention/\(layer.name)", a.pi, binary: binary) {
                outputs.append(t)
            }
            guard level == .full, let act = layer.activation else { continue }
            for t in [matrix("dyrelu_a/\(layer.name)", act.a, binary: binary),
                      matrix("dyrelu_b/\(layer.name)", act.b, binary: binary),
                      act.spatial.flatMap { matrix("dyrelu_spatial/\(layer.name)", $0, binary: binary) }] {
                if let t { outputs.append(t) }
            }
        }
        return outputs
    }

    /// Whether `name` is a trace output name (for the `outputs` filter's message on unknown names).
    static func isTraceName(_ name: String) -> Bool {
        ["attention/", "dyrelu_a/", "dyrelu_b/", "dyrelu_spatial/"].contains { name.hasPrefix($0) }
    }

    /// Rows of equal length as an `[N, width]` tensor; nil when the rows are ragged (a trace bug
    /// must not become a malformed tensor).
    private static func matrix(_ name: String, _ rows: [[Float]], binary: Bool) -> V2OutputTensor? {
        let width = rows.first?.count ?? 0
        guard rows.allSatisfy({ $0.count == width }) else { return nil }
        return V2OutputTensor(name: name, shape: [rows.count, width], data: rows.flatMap { $0 }, binary: binary)
    }
}
