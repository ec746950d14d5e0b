import DyNN
import Foundation

/// Triton's classification extension: an output requested with `"classification": N` comes
/// back as a BYTES tensor `[batch, N]` whose elements are `"score:index"` or, when the model has a
/// label for the class, `"score:index:label"`, best first. Each sample's values (everything after
/// the batch dimension, flattened) are ranked as `Tensor.topK` ranks them (ties keep the lower
/// index); N larger than the number of classes is cut to it, as Triton does. The score is written
/// with six decimals (C's `%f`), which is how Triton prints it and what its clients parse.
enum V2Classification {
    static func classify(_ output: V2OutputTensor, count: Int, labels: [String]?) throws(RequestError) -> V2OutputTensor {
        guard case .fp32(let values) = output.values, let batch = output.shape.first, batch > 0 else {
            throw .badRequest("output \"\(output.name)\" has no batch of scores to classify")
        }
        let classes = values.count / batch
        guard classes > 0 else {
            throw .badRequest("output \"\(output.name)\" has shape \(ShapeText.format(output.shape)): no classes to rank")
        }
        let k = min(count, classes)
        let ranked = Tensor(shape: [batch, classes], data: values).topK(k)
        var elements: [[UInt8]] = []
        elements.reserveCapacity(batch * k)
        for row in ranked {
            for entry in row {
                var text = String(format: "%f", Double(entry.score)) + ":" + String(entry.index)
                if let labels, entry.index < labels.count { text += ":" + labels[entry.index] }
                elements.append(Array(text.utf8))
            }
        }
        return V2OutputTensor(name: output.name, shape: [batch, k], values: .bytes(elements), binary: output.binary)
    }
}
