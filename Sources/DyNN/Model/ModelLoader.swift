import Foundation

/// Checks a `ModelSpec` against the format's rules and turns it into runnable nodes: names resolve
/// to earlier values, every op gets typed attributes and exactly-shaped weights, shapes are inferred
/// through the graph for one sample, declared outputs are checked, and batch norms are folded.
struct ModelLoader {
    var spec: ModelSpec
    var directory: URL
    var foldBatchNorm = true

    /// What `Model` keeps.
    struct Result {
        var nodes: [LoadedNode]
        var outputs: [ValueRef]
        /// The batch size every input declares, or nil when it is variable (-1).
        var fixedBatch: Int?
    }

    func load() throws(ModelError) -> Result {
        let fixedBatch = try checkBoundary()
        let batch = fixedBatch ?? 1
        let supply = try WeightSupply(source: spec.weights, directory: directory)
        let factory = OperatorFactory(modelTemperature: spec.temperature)

        // Values by name: graph inputs first, then each node as it is defined.
        var defined: [String: ValueRef] = [:]
        var shapes: [ValueRef: [Int]] = [:]
        for (index, input) in spec.inputs.enumerated() {
            guard defined[input.name] == nil else { throw .duplicateName(input.name) }
            defined[input.name] = .input(index)
            shapes[.input(index)] = [batch] + input.shape.dropFirst()
        }

        var candidates: [BatchNormFolding.Candidate] = []
        for node in spec.nodes {
            guard !node.name.isEmpty else {
                throw .invalidField(field: "name", context: "node #\(candidates.count)", expected: "a non-empty string", actual: "\"\"")
            }
            guard defined[node.name] == nil else { throw .duplicateName(node.name) }
            guard let kind = OpKind(rawValue: node.op) else { throw .unknownOp(node: node.name, op: node.op) }
            guard kind.arities.contains(node.inputs.count) else {
                // The nearest count the op accepts (only dynamic_conv2d accepts two).
                let expected = min(max(node.inputs.count, kind.arities.lowerBound), kind.arities.upperBound)
                throw .wrongArity(node: node.name, op: node.op, expected: expected, actual: node.inputs.count)
            }
            var refs: [ValueRef] = []
            for input in node.inputs {
                guard let ref = defined[input] else { throw .undefinedInput(node: node.name, input: input) }
                refs.append(ref)
            }
            let inputShapes = refs.compactMap { shapes[$0] }
            let op = try factory.build(node, kind: kind, inputShapes: inputShapes, supply: supply)
            let outputShape: [Int]
            do {
                outputShape = try op.outputShape(for: inputShapes)
            } catch {
                throw .shape(node: node.name, message: error.message)
            }
            let ref = ValueRef.node(candidates.count)
            defined[node.name] = ref
            shapes[ref] = outputShape
            candidates.append(.init(name: node.name, op: op, inputs: refs, inputShapes: inputShapes, outputShape: outputShape))
        }
        try supply.finish()

        var outputs: [ValueRef] = []
        var outputNames = Set<String>()
        for output in spec.outputs {
            guard outputNames.insert(output.name).inserted else {
                throw .invalidField(field: "name", context: "outputs", expected: "unique output names", actual: "\"\(output.name)\" twice")
            }
            guard let ref = defined[output.producer] else { throw .unknownOutputNode(output: output.name, node: output.producer) }
            let actual = shapes[ref] ?? []
            let declared = output.shape
            // The batch dimension: -1 when inputs are variable, or the inputs' fixed batch.
            let expectedBatch = fixedBatch ?? -1
            guard declared.count == actual.count, declared.first == expectedBatch || declared.first == -1,
                  declared.dropFirst().elementsEqual(actual.dropFirst()) else {
                throw .outputShape(output: output.name, expected: declared, actual: [expectedBatch] + actual.dropFirst())
            }
            outputs.append(ref)
        }

        let pinned = Set(outputs.compactMap { ref -> Int? in
            if case .node(let index) = ref { return index }
            return nil
        })
        var folded = candidates
        var newIndex = Array(candidates.indices)
        if foldBatchNorm { (folded, newIndex) = BatchNormFolding.fold(candidates, pinned: pinned) }
        let nodes = folded.map {
            LoadedNode(name: $0.name, op: $0.op, inputs: $0.inputs, inputShapes: $0.inputShapes, outputShape: $0.outputShape)
        }
        outputs = outputs.map { ref in
            if case .node(let index) = ref { return .node(newIndex[index]) }
            return ref
        }
        return Result(nodes: nodes, outputs: outputs, fixedBatch: fixedBatch)
    }

    static let maximumSampleElements = 1 << 31

    /// Checks the boundary tensors and the model-level fields; returns the fixed batch, if any.
    private func checkBoundary() throws(ModelError) -> Int? {
        guard !spec.inputs.isEmpty else {
            throw .invalidField(field: "inputs", context: "model.json", expected: "at least one input", actual: "[]")
        }
        guard !spec.outputs.isEmpty else {
            throw .invalidField(field: "outputs", context: "model.json", expected: "at least one output", actual: "[]")
        }
        guard spec.temperature.isFinite, spec.temperature > 0 else {
            throw .invalidField(field: "temperature", context: "model.json", expected: "a positive number", actual: "\(spec.temperature)")
        }
        var batches = Set<Int>()
        for tensor in spec.inputs + spec.outputs {
            guard tensor.datatype == "FP32" else { throw .unsupportedDatatype(tensor: tensor.name, datatype: tensor.datatype) }
            guard let first = tensor.shape.first, first == -1 || first >= 1,
                  tensor.shape.dropFirst().allSatisfy({ $0 >= 1 }) else {
                throw .invalidField(field: "shape", context: "tensor \"\(tensor.name)\"",
                                    expected: "positive dimensions, with -1 allowed only first", actual: formatShape(tensor.shape))
            }
            // One sample must be addressable; this also keeps shape arithmetic in the ops overflow-free.
            guard let count = checkedElementCount(Array(tensor.shape.dropFirst())), count <= Self.maximumSampleElements else {
                throw .invalidField(field: "shape", context: "tensor \"\(tensor.name)\"",
                                    expected: "at most \(Self.maximumSampleElements) values per sample", actual: formatShape(tensor.shape))
            }
        }
        for input in spec.inputs { batches.insert(input.shape[0]) }
        guard batches.count == 1, let batch = batches.first else {
            throw .invalidField(field: "shape", context: "inputs", expected: "the same batch dimension on every input",
                                actual: spec.inputs.map { formatShape($0.shape) }.joined(separator: " "))
        }
        if let labels = spec.labels, let classes = spec.outputs[0].shape.last, labels.count != classes {
            throw .invalidField(field: "labels", context: "model.json", expected: "\(classes) labels (the first output's last axis)",
                                actual: "\(labels.count)")
        }
        return batch == -1 ? nil : batch
    }
}
