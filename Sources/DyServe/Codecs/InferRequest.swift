import DyNN

/// A decoded `POST /infer`, whatever the body's content type.
struct InferRequest: Sendable {
    var model: String
    /// `input`: the tensor of a model with one input; nil when the body names its inputs.
    var input: Tensor?
    /// `inputs`: tensors by input name, in body order, for models with several inputs.
    var namedInputs: [(name: String, tensor: Tensor)]? = nil
    /// Overrides every dynamic convolution's softmax temperature.
    var temperature: Float?
    /// What the trace store records; attention pi by default.
    var trace: TraceLevel = .attention
    /// Also put the trace in the response.
    var returnTrace: Bool = false
    /// Classes to report per sample; nil means the default.
    var topK: Int?
    /// The body's own `timeout` (nanoseconds; given in milliseconds), shortening the configured one.
    var timeout: UInt64?
}

/// The optional settings shared by JSON fields and query parameters, checked in one place.
enum InferOptionParsing {
    static func temperature(_ value: Double, field: String) throws(RequestError) -> Float {
        guard value.isFinite, value > 0 else {
            throw .badRequest("\(field) must be a finite number greater than 0, got \(value)")
        }
        // The model computes in FP32: the value must survive the conversion.
        let t = Float(value)
        guard t.isFinite else {
            throw .badRequest("\(field) \(value) is beyond the FP32 range (at most \(Float.greatestFiniteMagnitude))")
        }
        guard t > 0 else {
            throw .badRequest("\(field) \(value) is below the smallest positive FP32 value (\(Float.leastNonzeroMagnitude))")
        }
        return t
    }

    static func trace(_ value: String, field: String) throws(RequestError) -> TraceLevel {
        guard let level = TraceLevel(rawValue: value) else {
            throw .badRequest("\(field) must be \"attention\", \"full\" or \"none\", got \"\(value)\"")
        }
        return level
    }

    /// Largest `top_k` accepted (more classes than any model has is pointless, and the bound
    /// keeps the conversion to Int safe).
    static let maxTopK = 1_000_000

    static func topK(_ value: Double, field: String) throws(RequestError) -> Int {
        guard value == value.rounded(), value >= 1, value <= Double(maxTopK) else {
            throw .badRequest("\(field) must be an integer from 1 to \(maxTopK), got \(value)")
        }
        return Int(value)
    }
}
