import DyNN

/// Merges the inputs of compatible requests along the batch dimension and splits one execution's
/// outputs and trace back into per-request pieces, each request getting exactly its own samples.
enum BatchAssembly {
    /// A split went wrong because the model's answer does not have one row per merged sample.
    struct MismatchedBatch: Error, CustomStringConvertible {
        var description: String
    }

    /// The batch sizes (first dimension) of `inputs`, which must all share a `BatchKey`.
    static func batchSizes(_ inputs: [Tensor]) -> [Int] {
        inputs.map { $0.shape.first ?? 0 }
    }

    /// One tensor holding every input's samples in order.
    static func merge(_ inputs: [Tensor]) -> Tensor {
        guard inputs.count > 1, let first = inputs.first else { return inputs.first ?? Tensor(shape: [0], data: []) }
        var shape = first.shape
        shape[0] = batchSizes(inputs).reduce(0, +)
        var data: [Float] = []
        data.reserveCapacity(inputs.reduce(0) { $0 + $1.data.count })
        for input in inputs { data.append(contentsOf: input.data) }
        return Tensor(shape: shape, data: data)
    }

    /// One tensor per model input, each merging that input of every request (`perRequest[r][i]`
    /// is request r's input i), for models with several inputs.
    static func merge(inputsOf perRequest: [[Tensor]]) -> [Tensor] {
        guard let first = perRequest.first else { return [] }
        return first.indices.map { i in merge(perRequest.map { $0[i] }) }
    }

    /// Splits a merged execution's outcome into one outcome per request, `sizes[i]` samples each.
    static func split(_ outcome: InferenceOutcome, sizes: [Int]) throws(MismatchedBatch) -> [InferenceOutcome] {
        let total = sizes.reduce(0, +)
        var outputsPerRequest = Array(repeating: [Tensor](), count: sizes.count)
        for (o, output) in outcome.outputs.enumerated() {
            guard let rows = output.shape.first, rows == total, total > 0, output.data.count % total == 0 else {
                throw MismatchedBatch(description: "output \(o) has shape \(output.shape); expected \(total) rows for the merged batch")
            }
            let stride = output.data.count / total
            var row = 0
            for (i, size) in sizes.enumerated() {
                var shape = output.shape
                shape[0] = size
                outputsPerRequest[i].append(Tensor(shape: shape, data: Array(output.data[(row * stride)..<((row + size) * stride)])))
                row += size
            }
        }
        var tracesPerRequest = Array(repeating: [LayerTrace](), count: sizes.count)
        for layer in outcome.trace {
            let pieces = try split(layer, sizes: sizes, total: total)
            for i in sizes.indices { tracesPerRequest[i].append(pieces[i]) }
        }
        return sizes.indices.map { InferenceOutcome(outputs: outputsPerRequest[$0], trace: tracesPerRequest[$0]) }
    }

    /// Per-sample rows (pi, entropy, DY-ReLU coefficients, spatial maps) go to their request;
    /// per-layer facts (names, routing, temperature, sizes) are copied to each.
    private static func split(_ layer: LayerTrace, sizes: [Int], total: Int) throws(MismatchedBatch) -> [LayerTrace] {
        var pieces = Array(repeating: LayerTrace(name: layer.name, op: layer.op), count: sizes.count)
        if let attention = layer.attention {
            let pi = try rows(attention.pi, sizes: sizes, total: total, what: "\(layer.name) attention pi")
            let entropy = try rows(attention.entropy, sizes: sizes, total: total, what: "\(layer.name) attention entropy")
            for i in sizes.indices {
                pieces[i].attention = AttentionTrace(routing: attention.routing, temperature: attention.temperature,
                                                     pi: pi[i], entropy: entropy[i])
            }
        }
        if let activation = layer.activation {
            let a = try rows(activation.a, sizes: sizes, total: total, what: "\(layer.name) activation a")
            let b = try rows(activation.b, sizes: sizes, total: total, what: "\(layer.name) activation b")
            let spatial = try activation.spatial.map { (s) throws(MismatchedBatch) in
                try rows(s, sizes: sizes, total: total, what: "\(layer.name) activation spatial")
            }
            for i in sizes.indices {
                pieces[i].activation = ActivationTrace(variant: activation.variant, pieces: activation.pieces,
                                                       channels: activation.channels, a: a[i], b: b[i],
                                                       spatial: spatial?[i], height: activation.height,
                                                       width: activation.width)
            }
        }
        return pieces
    }

    private static func rows<T>(_ all: [T], sizes: [Int], total: Int, what: String) throws(MismatchedBatch) -> [[T]] {
        guard all.count == total else {
            throw MismatchedBatch(description: "\(what) has \(all.count) rows; expected \(total) for the merged batch")
        }
        var result: [[T]] = []
        result.reserveCapacity(sizes.count)
        var start = 0
        for size in sizes {
            result.append(Array(all[start..<(start + size)]))
            start += size
        }
        return result
    }
}
