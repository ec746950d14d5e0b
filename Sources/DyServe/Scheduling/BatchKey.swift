import DyNN

/// What two requests must share to run in one execution: the per-sample shape (everything but
/// the batch dimension) and the run options. Temperature changes every sample's attention and the
/// trace level changes what is recorded, so requests that differ in either are never merged.
struct BatchKey: Hashable, Sendable {
    var sampleShape: [Int]
    /// The temperature's bit pattern (nil = the model's own), so equality is exact.
    var temperatureBits: UInt32?
    var trace: TraceLevel

    init(input: Tensor, options: RunOptions) {
        sampleShape = Array(input.shape.dropFirst())
        temperatureBits = options.temperature?.bitPattern
        trace = options.trace
    }
}
