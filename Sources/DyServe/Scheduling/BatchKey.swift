import DyNN

/// What two requests must share to run in one execution: the per-sample shape of each input
/// (everything but the batch dimension) and the run options. Temperature changes every sample's attention and the
/// trace level changes what is recorded, so requests that differ in either are never merged.
struct BatchKey: Hashable, Sendable {
    var sampleShapes: [[Int]]
    /// The temperature's bit pattern (nil = the model's own), so equality is exact.
    var temperatureBits: UInt32?
    var trace: TraceLevel

    init(inputs: [Tensor], options: RunOptions) {
        sampleShapes = inputs.map { Array($0.shape.dropFirst()) }
        temperatureBits = options.temperature?.bitPattern
        trace = options.trace
    }
}
