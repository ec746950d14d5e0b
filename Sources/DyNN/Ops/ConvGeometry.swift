/// Kernel size, stride, padding, dilation and groups of a 2-D convolution (static or dynamic).
public struct ConvGeometry: Sendable, Equatable {
    public var kernelH: Int
    public var kernelW: Int
    public var strideH: Int
    public var strideW: Int
    public var padTop: Int
    public var padLeft: Int
    public var padBottom: Int
    public var padRight: Int
    public var dilationH: Int
    public var dilationW: Int
    public var groups: Int

    public init(kernelH: Int, kernelW: Int, strideH: Int = 1, strideW: Int = 1,
                padTop: Int = 0, padLeft: Int = 0, padBottom: Int = 0, padRight: Int = 0,
                dilationH: Int = 1, dilationW: Int = 1, groups: Int = 1) {
        self.kernelH = kernelH
        self.kernelW = kernelW
        self.strideH = strideH
        self.strideW = strideW
        self.padTop = padTop
        self.padLeft = padLeft
        self.padBottom = padBottom
        self.padRight = padRight
        self.dilationH = dilationH
        self.dilationW = dilationW
        self.groups = groups
    }
}

extension ConvGeometry {
    /// Rows the kernel spans once dilated: `dilation * (k - 1) + 1`.
    public var dilatedKernelH: Int { dilationH * (kernelH - 1) + 1 }
    /// Columns the kernel spans once dilated.
    public var dilatedKernelW: Int { dilationW * (kernelW - 1) + 1 }

    /// Kernel, stride and dilation at least 1, padding at least 0, groups at least 1.
    func validate(op: String) throws(ShapeError) {
        guard kernelH >= 1, kernelW >= 1 else {
            throw ShapeError("\(op) kernel \(kernelH)x\(kernelW) must be at least 1x1")
        }
        guard strideH >= 1, strideW >= 1 else {
            throw ShapeError("\(op) stride \(strideH)x\(strideW) must be at least 1")
        }
        guard dilationH >= 1, dilationW >= 1 else {
            throw ShapeError("\(op) dilation \(dilationH)x\(dilationW) must be at least 1")
        }
        guard padTop >= 0, padLeft >= 0, padBottom >= 0, padRight >= 0 else {
            throw ShapeError("\(op) padding [\(padTop), \(padLeft), \(padBottom), \(padRight)] must not be negative")
        }
        guard groups >= 1 else {
            throw ShapeError("\(op) groups \(groups) must be at least 1")
        }
    }

    /// `floor((H + padTop + padBottom - dilation*(k-1) - 1) / stride) + 1` per axis; the dilated
    /// kernel must fit inside the padded input so that every output has at least one window.
    public func outputSize(height: Int, width: Int) throws(ShapeError) -> (height: Int, width: Int) {
        let paddedH = height + padTop + padBottom
        let paddedW = width + padLeft + padRight
        guard dilatedKernelH <= paddedH, dilatedKernelW <= paddedW else {
            let dilated = (dilationH > 1 || dilationW > 1) ? " (dilated)" : ""
            throw ShapeError("kernel \(dilatedKernelH)x\(dilatedKernelW)\(dilated) larger than padded input \(paddedH)x\(paddedW)")
        }
        return ((paddedH - dilatedKernelH) / strideH + 1, (paddedW - dilatedKernelW) / strideW + 1)
    }

    /// The output shape of a convolution of `input` `[N, C, H, W]` with a weight of shape
    /// `[out, in / groups, kh, kw]`; shared by `Conv2d` and `DynamicConv2d`.
    func convolutionOutputShape(input: [Int], weightShape: [Int], op: String) throws(ShapeError) -> [Int] {
        try validate(op: op)
        try ShapeChecks.nchw(input, op: op)
        guard weightShape.count == 4, weightShape.allSatisfy({ $0 >= 1 }) else {
            throw ShapeError("\(op) weight must be [out, in/groups, kh, kw], got \(weightShape)")
        }
        guard weightShape[2] == kernelH, weightShape[3] == kernelW else {
            throw ShapeError("\(op) weight kernel \(weightShape[2])x\(weightShape[3]) disagrees with kernel_size \(kernelH)x\(kernelW)")
        }
        let outChannels = weightShape[0]
        guard outChannels % groups == 0 else {
            throw ShapeError("\(op) out channels \(outChannels) not divisible by groups \(groups)")
        }
        let channels = input[1]
        guard channels % groups == 0 else {
            throw ShapeError("\(op) input channels \(channels) not divisible by groups \(groups)")
        }
        guard channels == weightShape[1] * groups else {
            throw ShapeError("input has \(channels) channels, weight expects \(weightShape[1] * groups) (groups \(groups))")
        }
        let size: (height: Int, width: Int)
        do {
            size = try outputSize(height: input[2], width: input[3])
        } catch {
            throw ShapeError("\(op) \(error.message)")
        }
        return [input[0], outChannels, size.height, size.width]
    }
}
