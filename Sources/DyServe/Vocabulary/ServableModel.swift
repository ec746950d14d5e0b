import DyNN

/// A tensor at a served model's boundary; `-1` marks the batch dimension.
public struct ServedTensorSpec: Sendable, Equatable {
    public var name: String
    public var datatype: String
    public var shape: [Int]

    public init(name: String, datatype: String = "FP32", shape: [Int]) {
        self.name = name
        self.datatype = datatype
        self.shape = shape
    }
}

/// What the service says about a model (`GET /models`) and needs to validate requests.
public struct ServedModelInfo: Sendable, Equatable {
    public var name: String
    public var version: String
    public var inputs: [ServedTensorSpec]
    public var outputs: [ServedTensorSpec]
    public var labels: [String]?
    /// Default softmax temperature of its dynamic convolutions.
    public var temperature: Float
    public var parameters: Int
    /// Multiply-adds for one sample.
    public var multiplyAdds: Int
    /// The distinct routing functions of its dynamic convolutions (`softmax`, `sigmoid`), in
    /// graph order; empty for a model without any.
    public var routing: [String]

    public init(name: String, version: String, inputs: [ServedTensorSpec], outputs: [ServedTensorSpec],
                labels: [String]? = nil, temperature: Float = 1, parameters: Int = 0, multiplyAdds: Int = 0,
                routing: [String] = []) {
        self.routing = routing
        self.name = name
        self.version = version
        self.inputs = inputs
        self.outputs = outputs
        self.labels = labels
        self.temperature = temperature
        self.parameters = parameters
        self.multiplyAdds = multiplyAdds
    }
}

/// What a forward pass gives back: outputs in `info.outputs` order and the dynamic layers' trace.
public struct InferenceOutcome: Sendable {
    public var outputs: [Tensor]
    public var trace: [LayerTrace]

    public init(outputs: [Tensor], trace: [LayerTrace]) {
        self.outputs = outputs
        self.trace = trace
    }
}

/// A loaded model as the service sees it. The seam between DyServe and DyNN: the real model
/// adapts to it, and tests can serve small hand-written models.
///
/// `infer` must be safe to call from several threads at once. It throws `RequestError` for input
/// the model rejects (400) and anything else for a bug (500).
public protocol ServableModel: Sendable {
    var info: ServedModelInfo { get }
    /// Threads one `infer` call computes on (the scheduler holds that many cores while it runs,
    /// and runs `cores / intraOpThreads` calls at once). 1 unless the model says otherwise.
    var intraOpThreads: Int { get }
    func infer(_ inputs: [Tensor], options: RunOptions) throws -> InferenceOutcome
}

extension ServableModel {
    public var intraOpThreads: Int { 1 }
}
