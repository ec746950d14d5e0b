/// Running one batch as several smaller ones: the samples of each chunk, and the chunks' results joined
/// back along the batch, so a caller sees one result whatever sizes the engine ran.
extension Tensor {
    /// Samples `start ..< start + count` along the first (batch) dimension.
    public func samples(_ start: Int, _ count: Int) -> Tensor {
        let per = shape.dropFirst().reduce(1, *)
        return Tensor(shape: [count] + shape.dropFirst(), data: Array(data[(start * per)..<((start + count) * per)]))
    }
}

extension RunResult {
    /// This result followed by the next chunk's samples: outputs and per-sample traces joined along the batch.
    public func appending(_ next: RunResult) -> RunResult {
        let outputs = zip(self.outputs, next.outputs).map { a, b in
            Tensor(shape: [a.shape[0] + b.shape[0]] + a.shape.dropFirst(), data: a.data + b.data)
        }
        let trace = zip(self.trace, next.trace).map { a, b -> LayerTrace in
            var joined = a
            if var attention = joined.attention, let more = b.attention {
                attention.pi += more.pi
                attention.entropy += more.entropy
                joined.attention = attention
            }
            if var activation = joined.activation, let more = b.activation {
                activation.a += more.a
                activation.b += more.b
                if let spatial = more.spatial { activation.spatial = (activation.spatial ?? []) + spatial }
                joined.activation = activation
            }
            return joined
        }
        return RunResult(outputs: outputs, trace: trace)
    }
}

extension InferenceEngine {
    /// Runs `inputs` (validated by `run`, every input of the same batch) as consecutive chunks of the given
    /// sizes, which must add up to the batch, and joins the chunks' results.
    public func run(_ inputs: [Tensor], options: RunOptions, chunks: [Int]) throws(RunError) -> RunResult {
        var result: RunResult?
        var start = 0
        for count in chunks {
            let part = try run(inputs.map { $0.samples(start, count) }, options: options)
            result = result.map { $0.appending(part) } ?? part
            start += count
        }
        return result ?? RunResult(outputs: [], trace: [])
    }
}
