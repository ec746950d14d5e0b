import DyNN

/// Matches a `POST /infer` request's tensors to the model's declared inputs: `input` feeds a
/// model with one input, `inputs` names each input of a model with several. Every tensor must
/// have its input's rank, a batch of at least one and its other dimensions, and all share one
/// batch size. The result is in the model's input order, ready for the engine.
enum InferInputBinding {
    static func bind(_ request: InferRequest, to info: ServedModelInfo) throws(RequestError) -> [Tensor] {
        let names = info.inputs.map { "\"\($0.name)\"" }.joined(separator: ", ")
        var tensors: [Tensor] = []
        if let input = request.input {
            guard info.inputs.count == 1, let spec = info.inputs.first else {
                throw .badRequest("model \(info.name) takes \(info.inputs.count) inputs (\(names)); send them by name in \"inputs\"")
            }
            try check(input, against: spec, named: false)
            tensors = [input]
        } else if let named = request.namedInputs {
            for (name, _) in named where !info.inputs.contains(where: { $0.name == name }) {
                throw .badRequest("model \(info.name) has no input \"\(name)\"; its inputs are \(names)")
            }
            for spec in info.inputs {
                guard let tensor = named.first(where: { $0.name == spec.name })?.tensor else {
                    throw .badRequest("input \"\(spec.name)\" is missing from inputs; model \(info.name) takes \(names)")
                }
                try check(tensor, against: spec, named: true)
                if let first = tensors.first, first.shape.first != tensor.shape.first {
                    throw .badRequest("input \"\(spec.name)\" has batch size \(tensor.shape.first ?? 0) but input \"\(info.inputs[0].name)\" has \(first.shape.first ?? 0); every input needs the same batch size")
                }
                tensors.append(tensor)
            }
        } else {
            throw .badRequest("input is missing")
        }
        return tensors
    }

    private static func check(_ tensor: Tensor, against spec: ServedTensorSpec, named: Bool) throws(RequestError) {
        let matches = tensor.rank == spec.shape.count
            && zip(tensor.shape, spec.shape).allSatisfy { got, want in want < 0 ? got >= 1 : got == want }
        guard matches else {
            throw .badRequest((named ? "input \"\(spec.name)\": " : "input ") + "shape \(ShapeText.format(tensor.shape)) does not match \(ShapeText.format(spec.shape))"
                + (tensor.shape.first == 0 ? " (the batch is empty)" : ""))
        }
    }
}
