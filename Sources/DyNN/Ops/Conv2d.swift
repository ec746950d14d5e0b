/// A static 2-D convolution, NCHW, with optional bias.
public struct Conv2d: Sendable {
    /// `[out, in / groups, kh, kw]`
    public var weight: Tensor
    /// `[out]`
    public var bias: Tensor?
    public var geometry: ConvGeometry

    public init(weight: Tensor, bias: Tensor?, geometry: ConvGeometry) {
        self.weight = weight
        self.bias = bias
        self.geometry = geometry
    }
}
