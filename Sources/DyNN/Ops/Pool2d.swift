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

extension Pool2d: Operator {
    public var opName: String { kind == .average ? "avg_pool2d" : "max_pool2d" }
    public var arity: Int { 1 }

    /// Output size as for a convolution (floor mode). Each padding side must be smaller than the
    /// kernel, so every window holds at least one real cell (asymmetric padding, as `F.pad` gives,
    /// is allowed; PyTorch's own pools ask for at most half the kernel, which implies this).
    public func outputShape(for inputs: [[Int]]) throws(ShapeError) -> [Int] {
        try ShapeChecks.arity(inputs, 1, op: opName)
        let g = geometry
        try g.validate(op: opName)
        guard g.dilationH == 1, g.dilationW == 1, g.groups == 1 else {
            throw ShapeError("\(opName) takes no dilation or groups")
        }
        guard max(g.padTop, g.padBottom) < g.kernelH, max(g.padLeft, g.padRight) < g.kernelW else {
            throw ShapeError("\(opName) padding [\(g.padTop), \(g.padLeft), \(g.padBottom), \(g.padRight)] must be smaller than kernel \(g.kernelH)x\(g.kernelW) on every side")
        }
        let shape = inputs[0]
        try ShapeChecks.nchw(shape, op: opName)
        let size: (height: Int, width: Int)
        do {
            size = try g.outputSize(height: shape[2], width: shape[3])
        } catch {
            throw ShapeError("\(opName) \(error.message)")
        }
        return [shape[0], shape[1], size.height, size.width]
    }

    public func forward(_ inputs: [Tensor], options: RunOptions) -> (output: Tensor, trace: LayerTrace?) {
        let x = inputs[0]
        let outShape = validatedOutputShape(inputs)
        let g = geometry
        let (height, width) = (x.shape[2], x.shape[3])
        let (outHeight, outWidth) = (outShape[2], outShape[3])
        let planes = x.shape[0] * x.shape[1]
        var y = [Float](repeating: 0, count: outShape.reduce(1, *))
        x.data.withUnsafeBufferPointer { input in
            for p in 0..<planes {
                let plane = p * height * width
                for oh in 0..<outHeight {
                    // The window clipped to the real input; padding lies outside it.
                    let top = oh * g.strideH - g.padTop
                    let rows = max(top, 0)..<min(top + g.kernelH, height)
                    for ow in 0..<outWidth {
                        let left = ow * g.strideW - g.padLeft
                        let columns = max(left, 0)..<min(left + g.kernelW, width)
                        var result: Float
                        switch kind {
                        case .max:
                            result = -Float.infinity
                            for h in rows { for w in columns { result = max(result, input[plane + h * width + w]) } }
                        case .average:
                            var sum: Float = 0
                            for h in rows { for w in columns { sum += input[plane + h * width + w] } }
                            let count = countIncludePad ? g.kernelH * g.kernelW : rows.count * columns.count
                            result = sum / Float(count)
                        }
                        y[(p * outHeight + oh) * outWidth + ow] = result
                    }
                }
            }
        }
        return (Tensor(shape: outShape, data: y), nil)
    }

    public func cost(for inputs: [[Int]]) -> OpCost { OpCost(parameters: 0, macs: 0) }
}
