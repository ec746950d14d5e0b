import DyNN
import Foundation

/// Where the PyTorch-generated fixtures (tools/make_fixtures.py, tools/train_digits.py) live in the test bundle.
enum FixtureFiles {
    static var root: URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures")
    }

    static func npy(_ url: URL) throws -> Tensor {
        try Npy.read([UInt8](Data(contentsOf: url)))
    }

    /// The largest absolute difference between two tensors of the same shape.
    static func maxAbsDifference(_ actual: [Float], _ expected: [Float]) -> Float {
        zip(actual, expected).map { abs($0 - $1) }.max() ?? 0
    }

    /// Tolerance scaled by the magnitude of the expected values, never below the absolute tolerance.
    static func allowance(_ tolerance: Float, for expected: [Float]) -> Float {
        tolerance * max(1, expected.map(abs).max() ?? 0)
    }
}
