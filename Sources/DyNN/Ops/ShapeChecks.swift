/// Small shape checks shared by the ops' `outputShape`, so every op words its errors the same way.
enum ShapeChecks {
    /// The op takes exactly `count` inputs.
    static func arity(_ inputs: [[Int]], _ count: Int, op: String) throws(ShapeError) {
        guard inputs.count == count else {
            throw ShapeError("\(op) takes \(count) input\(count == 1 ? "" : "s"), got \(inputs.count)")
        }
    }

    /// An NCHW activation: rank 4, every dimension at least 1.
    static func nchw(_ shape: [Int], op: String) throws(ShapeError) {
        guard shape.count == 4 else {
            throw ShapeError("\(op) expects an input of shape [N, C, H, W], got \(shape)")
        }
        guard shape.allSatisfy({ $0 >= 1 }) else {
            throw ShapeError("\(op) input \(shape) has an empty dimension")
        }
    }

    /// A tensor the op stores must have exactly this shape.
    static func stored(_ tensor: Tensor, _ expected: [Int], role: String, op: String) throws(ShapeError) {
        guard tensor.shape == expected else {
            throw ShapeError("\(op) \(role) has shape \(tensor.shape), expected \(expected)")
        }
    }
}

extension Operator {
    /// `forward`'s precondition: the engine validates shapes with `outputShape` before it runs an op,
    /// so a mismatch here is a bug in the caller, never bad user input.
    func validatedOutputShape(_ inputs: [Tensor]) -> [Int] {
        do {
            return try outputShape(for: inputs.map(\.shape))
        } catch {
            preconditionFailure("\(opName).forward called with unchecked shapes: \(error.message)")
        }
    }
}

/// Rounds toward minus infinity (Swift's `/` truncates toward zero).
@inline(__always)
func floorDiv(_ a: Int, _ b: Int) -> Int {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

/// Rounds toward plus infinity.
@inline(__always)
func ceilDiv(_ a: Int, _ b: Int) -> Int {
    -floorDiv(-a, b)
}
