import CDNNL
@testable import DyNN
import Foundation
import Testing

/// The kernels that fold a squeeze-excitation gate into convolution weights, on the AVX2 path (when the
/// CPU has it) and the portable one: the gate chunk map of a real oneDNN weight layout, the static
/// weights' scaling (`dy_scale_by_channel`) and the gated aggregation (`dy_aggregate_gated`), each against
/// the same arithmetic done on the plain `[out, in]` weights and reordered by oneDNN.
@Suite struct GateFoldingKernelTests {
    static func values(_ count: Int, seed: UInt64, offset: Float = -0.5) -> [Float] {
        SeededInput.uniform([count], seed: seed).data.map { $0 + offset }
    }

    /// The kernel paths to check: portable always, AVX2 when this build and CPU have it.
    static func paths(_ context: DNNLContext) -> [Int32] { context.hasAVX2 ? [0, 1] : [0] }

    /// EfficientNet-B0-CondConv's largest projection (blocks.6.0, 1152 -> 320 at 7x7) and a stage-5 one
    /// (480 -> 112 at 14x14): plain weights scaled by the gate and reordered equal the reordered weights
    /// scaled through the map, bit for bit (one multiply each).
    @Test(arguments: [(1152, 320, 7), (480, 112, 14), (20, 12, 5)])
    func scaledWeightsMatchTheReorderedPlainProduct(_ sizes: (inputs: Int, outputs: Int, size: Int)) throws {
        let context = try DNNLContext()
        let shape = ConvShape(batch: 1, input: [1, sizes.inputs, sizes.size, sizes.size],
                              output: [1, sizes.outputs, sizes.size, sizes.size], geometry: ConvGeometry(kernelH: 1, kernelW: 1))
        let primitive = try ConvPrimitive(context: context, shape: shape, hasBias: false, postOp: nil, node: "project")
        let chunks = try #require(try GateChunks.map(primitive: primitive, context: context, node: "project"))
        let plain = Self.values(sizes.inputs * sizes.outputs, seed: 1)
        let gate = Self.values(sizes.inputs, seed: 2, offset: 0)
        let scaled = plain.indices.map { plain[$0] * gate[$0 % sizes.inputs] }
        let count = primitive.weightsBytes / MemoryLayout<Float>.stride
        func reordered(_ w: [Float]) throws -> AlignedBuffer {
            let buffer = AlignedBuffer(byteCount: primitive.weightsBytes)
            let desc = try DNNLContext.plainDesc(shape.weightDims, shape.plainWeightTag)
            try w.withUnsafeBufferPointer { (p) throws(FastEngineError) in
                try context.reorder(desc, UnsafeRawPointer(p.baseAddress!), into: primitive.weightsDesc, buffer.raw, node: "project")
            }
            return buffer
        }
        let (weights, expected) = (try reordered(plain), try reordered(scaled))
        let out = AlignedBuffer(floats: count)
        for avx2 in Self.paths(context) {
            dy_scale_by_channel(weights.floats, chunks.raw.assumingMemoryBound(to: Int32.self), gate, count, avx2, out.floats)
            let differing = (0..<count).filter { out.floats[$0] != expected.floats[$0] }.count
            #expect(differing == 0, "\(sizes) avx2 \(avx2): \(differing) of \(count) weights differ")
        }
    }

    /// The gated aggregation of K = 4 fp32 and fp16 experts against `sum_k pi_k W_k[o, c] gate[c]` on the plain
    /// weights, reordered; whole kernel and a slice starting at an offset, as the threads' split takes it.
    @Test(arguments: [ExpertPrecision.fp32, .fp16])
    func gatedAggregationMatchesThePlainSum(_ precision: ExpertPrecision) throws {
        let context = try DNNLContext()
        let (inputs, outputs, experts) = (672, 192, 4)
        let shape = ConvShape(batch: 1, input: [1, inputs, 7, 7], output: [1, outputs, 7, 7],
                              geometry: ConvGeometry(kernelH: 1, kernelW: 1))
        let primitive = try ConvPrimitive(context: context, shape: shape, hasBias: false, postOp: nil, node: "project")
        let chunks = try #require(try GateChunks.map(primitive: primitive, context: context, node: "project"))
        var plain = Self.values(experts * inputs * outputs, seed: 3)
        if precision == .fp16 { plain = plain.map { HalfPrecision.floatFromHalf(HalfPrecision.halfFromFloat($0)) } }
        let bank = try ExpertBank(context: context, experts: Tensor(shape: [experts, outputs, inputs, 1, 1], data: plain),
                                  primitive: primitive, precision: precision, node: "project")
        let gate = Self.values(inputs, seed: 4, offset: 0)
        let pi: [Float] = [0.9, 0.05, 0.6, 0.3]
        let per = inputs * outputs
        let gated = (0..<per).map { i in (0..<experts).reduce(Float(0)) { $0 + pi[$1] * plain[$1 * per + i] } * gate[i % inputs] }
        let expected = AlignedBuffer(floats: bank.count)
        let desc = try DNNLContext.plainDesc(shape.weightDims, shape.plainWeightTag)
        try gated.withUnsafeBufferPointer { (p) throws(FastEngineError) in
            try context.reorder(desc, UnsafeRawPointer(p.baseAddress!), into: primitive.weightsDesc, expected.raw, node: "project")
        }
        let out = AlignedBuffer(floats: bank.count)
        let map = chunks.raw.assumingMemoryBound(to: Int32.self)
        let element = precision == .fp32 ? 4 : 2
        for avx2 in Self.paths(context) {
            // Whole, then from element 64 on (a thread's slice), the first 64 left as they were.
            out.floats.update(repeating: 0, count: bank.count)
            dy_aggregate_gated(bank.raw, precision == .fp16 ? 1 : 0, bank.count, bank.count, Int32(experts), pi, gate, map, avx2,
                               out.floats)
            let whole = (0..<bank.count).map { abs(out.floats[$0] - expected.floats[$0]) }.max() ?? 0
            out.floats.update(repeating: 0, count: bank.count)
            dy_aggregate_gated(bank.raw + 64 * element, precision == .fp16 ? 1 : 0, bank.count, bank.count - 64, Int32(experts), pi,
                               gate, map + 64 / GateChunks.chunk, avx2, out.floats + 64)
            let slice = (64..<bank.count).map { abs(out.floats[$0] - expected.floats[$0]) }.max() ?? 0
            #expect(whole < 1e-6 && slice < 1e-6, "\(precision) avx2 \(avx2): \(whole), \(slice)")
            #expect((0..<64).allSatisfy { out.floats[$0] == 0 }, "the slice wrote before its start")
        }
    }

    /// Both kinds of chunk (one channel; 8 consecutive channels) and a tail shorter than a chunk, on a
    /// hand-made map, against the definition.
    @Test func bothChunkKindsAndATail() throws {
        let context = try DNNLContext()
        let count = 8 * 5 + 3
        let map: [Int32] = [3, ~Int32(0), 7, ~Int32(8), 15, 2]
        func channel(_ i: Int) -> Int {
            let c = Int(map[i / 8])
            return c >= 0 ? c : ~c + i % 8
        }
        let gate = Self.values(16, seed: 5, offset: 0)
        let weights = Self.values(count, seed: 6)
        let expected = (0..<count).map { weights[$0] * gate[channel($0)] }
        let experts = Self.values(2 * count, seed: 7)
        let pi: [Float] = [0.25, 0.75]
        let aggregated = (0..<count).map { (pi[0] * experts[$0] + pi[1] * experts[count + $0]) * gate[channel($0)] }
        for avx2 in Self.paths(context) {
            var out = [Float](repeating: 0, count: count)
            dy_scale_by_channel(weights, map, gate, count, avx2, &out)
            #expect(out == expected, "scale, avx2 \(avx2)")
            dy_aggregate_gated(experts, 0, count, count, 2, pi, gate, map, avx2, &out)
            let worst = zip(out, aggregated).map { abs($0 - $1) }.max() ?? 0
            #expect(worst < 1e-6, "aggregate, avx2 \(avx2): \(worst)")
        }
    }
}
