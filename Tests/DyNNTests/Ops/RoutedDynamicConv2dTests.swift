import Testing
@testable import DyNN

@Suite struct RoutedDynamicConv2dTests {
    /// Two 1x1 experts, 1 -> 1 channel: W = (2, 3), b = (1, 10).
    let op = RoutedDynamicConv2d(experts: tensor([2, 1, 1, 1, 1], [2, 3]), expertBias: tensor([2, 1], [1, 10]),
                                 geometry: ConvGeometry(kernelH: 1, kernelW: 1), routedBy: "route")

    @Test func aggregatesTheExpertsWithTheSuppliedWeights() throws {
        // Sample 0, r = (0.5, 2): W = 1 + 6 = 7, b = 0.5 + 20 = 20.5. Sample 1, r = (1, 0): W = 2, b = 1.
        // Sigmoid routing weights need not sum to 1, and nothing normalises them.
        let x = tensor([2, 1, 1, 2], [1, 2, 3, -1])
        let r = tensor([2, 2], [0.5, 2, 1, 0])
        let result = run(op, x, r, options: RunOptions(trace: .attention))
        #expect(result.output == tensor([2, 1, 1, 2], [27.5, 34.5, 7, -1]))
        let trace = try #require(result.trace)
        #expect(trace.op == "dynamic_conv2d")
        #expect(trace.routedBy == "route")
        #expect(trace.attention == nil)
        #expect(run(op, x, r).trace == nil)
    }

    /// Given the routing weights a 1-input dynamic convolution computes itself, both forms agree.
    @Test func matchesTheOneInputFormOnItsOwnRoutingWeights() {
        var rng = TestRandom(seed: 41)
        let geometry = ConvGeometry(kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, padTop: 1, padLeft: 1, padBottom: 1,
                                    padRight: 1, groups: 2)
        let experts = rng.tensor([3, 4, 1, 3, 3]), bias = rng.tensor([3, 4])
        let dynamic = DynamicConv2d(experts: experts, expertBias: bias, attention: randomMLP(&rng, inputs: 2, hidden: 4, outputs: 3),
                                    routing: .sigmoid, temperature: 1, geometry: geometry)
        let routed = RoutedDynamicConv2d(experts: experts, expertBias: bias, geometry: geometry, routedBy: "r")
        let x = rng.tensor([2, 2, 5, 6])
        let pi = dynamic.routingWeights(of: x, temperature: 1)
        let y = run(routed, x, tensor([2, 3], pi.flatMap { $0 })).output
        #expect(maxDifference(y, run(dynamic, x).output) < 1e-6)
    }

    @Test func rejectsRoutingOfTheWrongShape() throws {
        #expect(shapeError(op, [[2, 1, 3, 3], [2, 3]])
                == "dynamic_conv2d routing input must be [N, K] = [2, 2] (the batch of x, experts K), got [2, 3]")
        #expect(shapeError(op, [[2, 1, 3, 3], [1, 2]]) != nil)
        #expect(shapeError(op, [[2, 1, 3, 3], [2, 2, 1, 1]]) != nil)
        #expect(shapeError(op, [[2, 1, 3, 3]]) == "dynamic_conv2d takes 2 inputs, got 1")
        #expect(try op.outputShape(for: [[2, 1, 3, 3], [2, 2]]) == [2, 1, 3, 3])
    }

    @Test func costHasNoAttentionNetwork() {
        // 9 outputs x 1 MAC, aggregation 2 x (1 weight + 1 bias).
        #expect(op.cost(for: [[1, 1, 3, 3], [1, 2]]) == OpCost(parameters: 4, macs: 9 + 4))
    }
}
