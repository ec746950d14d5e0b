/// The sizes of one convolution, fixed once its shapes have been validated.
/// Used by `Conv2d` and by `DynamicConv2d` (which convolves each sample with its own kernel).
struct ConvProblem {
    let geometry: ConvGeometry
    let inChannels: Int
    let height: Int
    let width: Int
    let outChannels: Int
    let outHeight: Int
    let outWidth: Int

    /// `input` `[N, C, H, W]`, `output` `[N, out, outH, outW]`, both already validated.
    init(geometry: ConvGeometry, input: [Int], output: [Int]) {
        self.geometry = geometry
        inChannels = input[1]
        height = input[2]
        width = input[3]
        outChannels = output[1]
        outHeight = output[2]
        outWidth = output[3]
    }

    var inputSampleCount: Int { inChannels * height * width }
    var outputSampleCount: Int { outChannels * outHeight * outWidth }
    /// Elements of one `[out, in/groups, kh, kw]` weight.
    var weightCount: Int { outChannels * (inChannels / geometry.groups) * geometry.kernelH * geometry.kernelW }

    /// Output indices `o` in `0..<outSize` whose input index `o * stride + offset` lies in `0..<inSize`.
    /// Computing this range once per kernel tap keeps bounds tests out of the inner loops.
    static func validOutputs(offset: Int, stride: Int, inSize: Int, outSize: Int) -> Range<Int> {
        let lo = max(0, ceilDiv(-offset, stride))
        let hi = min(outSize, floorDiv(inSize - 1 - offset, stride) + 1)
        return lo..<max(lo, hi)
    }

    /// Convolves one sample: `output[oc] = bias[oc] + sum over (ic, ky, kx) of w * shifted input`.
    ///
    /// Loop order, outermost first: output channel, input channel of its group, kernel row, kernel
    /// column, output row, output column. The innermost loop walks contiguous output columns (and,
    /// at stride 1, contiguous input columns) with one scalar weight, so it vectorises; the valid
    /// row and column ranges of each tap are computed up front, so padding costs no branches.
    func convolveSample(input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                        bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>) {
        let g = geometry
        let inPerGroup = inChannels / g.groups
        let outPerGroup = outChannels / g.groups
        let inPlane = height * width
        let outPlane = outHeight * outWidth
        // A 1x1 stride-1 unpadded kernel maps each input plane onto the output plane element for
        // element: one long loop per (oc, ic) instead of one per row.
        let pointwise = g.kernelH == 1 && g.kernelW == 1 && g.strideH == 1 && g.strideW == 1
            && g.padTop == 0 && g.padLeft == 0 && g.padBottom == 0 && g.padRight == 0

        // Per kernel column: where its input column starts (at output column 0) and which output
        // columns see real (non-padding) input.
        let columnOffsets = (0..<g.kernelW).map { $0 * g.dilationW - g.padLeft }
        let columnRanges = columnOffsets.map {
            Self.validOutputs(offset: $0, stride: g.strideW, inSize: width, outSize: outWidth)
        }
        let rowOffsets = (0..<g.kernelH).map { $0 * g.dilationH - g.padTop }
        let rowRanges = rowOffsets.map {
            Self.validOutputs(offset: $0, stride: g.strideH, inSize: height, outSize: outHeight)
        }

        for oc in 0..<outChannels {
            let out = output + oc * outPlane
            out.update(repeating: bias?[oc] ?? 0, count: outPlane)
            let group = oc / outPerGroup
            for icInGroup in 0..<inPerGroup {
                let plane = input + (group * inPerGroup + icInGroup) * inPlane
                let taps = weight + (oc * inPerGroup + icInGroup) * g.kernelH * g.kernelW
                if pointwise {
                    let w = taps[0]
                    for i in 0..<outPlane { out[i] += w * plane[i] }
                    continue
                }
                for ky in 0..<g.kernelH {
                    let rows = rowRanges[ky]
                    for kx in 0..<g.kernelW {
                        let w = taps[ky * g.kernelW + kx]
                        let columns = columnRanges[kx]
                        if columns.isEmpty { continue }
                        for oh in rows {
                            // Index of the input element under output column 0 (may be negative:
                            // only `columns` are read, and those land inside the row).
                            let inRow = (oh * g.strideH + rowOffsets[ky]) * width + columnOffsets[kx]
                            let outRow = out + oh * outWidth
                            if g.strideW == 1 {
                                for ow in columns { outRow[ow] += w * plane[inRow + ow] }
                            } else {
                                let stride = g.strideW
                                for ow in columns { outRow[ow] += w * plane[inRow + ow * stride] }
                            }
                        }
                    }
                }
            }
        }
    }
}
