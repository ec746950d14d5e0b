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
        let t = Float(value)
        guard t.isFinite, t > 0 else {
            throw .badRequest("\(field) must be a finite number greater than 0, got \(value)")
        }
        return t
    }

    static func trace(_ value: String, field: String) throws(RequestError) -> TraceLevel {
        guard let level = TraceLevel(rawValue: value) else {
            throw .badRequest("\(field) must be \"attention\", \"full\" or \"none\", got \"\(value)\"")
        }
        return level
    }

    static func topK(_ value: Double, field: String) throws(RequestError) -> Int {
        guard value == value.rounded(), value >= 1, value <= 1_000_000 else {
            throw .badRequest("\(field) must be a positive integer, got \(value)")
        }
        return Int(value)
    }
}
