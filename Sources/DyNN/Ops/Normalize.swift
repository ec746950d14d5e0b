/// `y = (x - mean[c]) / std[c]`: input normalisation carried by the model.
public struct Normalize: Sendable {
    public var mean: [Float]
    public var std: [Float]
    public init(mean: [Float], std: [Float]) {
        self.mean = mean
        self.std = std
    }
}

extension Normalize: Operator {
    public var opName: String { "normalize" }
    public var arity: Int { 1 }

    public func outputShape(for inputs: [[Int]]) throws(ShapeError) -> [Int] {
        try ShapeChecks.arity(inputs, 1, op: opName)
        let shape = inputs[0]
        guard mean.count == std.count else {
            throw ShapeError("normalize has \(mean.count) mean values but \(std.count) std values")
        }
        guard std.allSatisfy({ $0 != 0 && $0.isFinite }) else {
            throw ShapeError("normalize std must be finite and non-zero, got \(std)")
        }
        guard shape.count >= 2 else { throw ShapeError("normalize expects [N, C, ...], got \(shape)") }
        guard shape[1] == mean.count else {
            throw ShapeError("normalize input has \(shape[1]) channels, mean/std have \(mean.count)")
        }
        return shape
    }

    public func forward(_ inputs: [Tensor], options: RunOptions) -> (output: Tensor, trace: LayerTrace?) {
        let x = inputs[0]
        _ = validatedOutputShape(inputs)
        let channels = x.shape[1]
        let plane = x.shape.dropFirst(2).reduce(1, *)
        var y = x.data
        for n in 0..<x.shape[0] {
            for c in 0..<channels {
                let base = (n * channels + c) * plane
                for i in base..<(base + plane) { y[i] = (y[i] - mean[c]) / std[c] }
            }
        }
        return (Tensor(shape: x.shape, data: y), nil)
    }

    public func cost(for inputs: [[Int]]) -> OpCost { OpCost(parameters: 0, macs: 0) }
}
