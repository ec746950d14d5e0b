/// Folds `batch_norm` nodes into the convolution before them (docs/model-format.md, "BatchNorm
/// folding"): exact for `conv2d` and for softmax-routed `dynamic_conv2d`, whose expert weights sum
/// to 1. The convolution must feed nothing but the batch norm. Folded batch norms disappear and
/// every reference to one points at its convolution instead. A 2-input `dynamic_conv2d`
/// (`RoutedDynamicConv2d`) is never folded here, since its routing weights need not sum to 1; the fast
/// backend folds it exactly its own way (`RoutedDynamicConv2d.folding`).
enum BatchNormFolding {
    /// A node before folding; `inputs` index the unfolded node list.
    struct Candidate {
        var name: String
        var op: any Operator
        var inputs: [ValueRef]
        var inputShapes: [[Int]]
        var outputShape: [Int]
    }

    /// Returns the folded nodes and, for every original node index, its index after folding.
    /// `pinned` are node indices that must keep their own value (model outputs).
    static func fold(_ nodes: [Candidate], pinned: Set<Int>) -> (nodes: [Candidate], newIndex: [Int]) {
        var nodes = nodes
        // How many consumers each node's value has; model outputs count as consumers.
        var uses = [Int](repeating: 0, count: nodes.count)
        for node in nodes {
            for case .node(let index) in node.inputs { uses[index] += 1 }
        }
        for index in pinned { uses[index] += 1 }

        var alias = Array(0..<nodes.count)  // original index -> index of the node now computing its value
        var removed = Set<Int>()
        for index in nodes.indices {
            nodes[index].inputs = nodes[index].inputs.map { ref in
                if case .node(let source) = ref { return .node(alias[source]) }
                return ref
            }
            guard let norm = nodes[index].op as? BatchNorm, case .node(let source)? = nodes[index].inputs.first,
                  uses[source] == 1 else { continue }
            let folded: (any Operator)?
            if let conv = nodes[source].op as? Conv2d {
                folded = conv.folding(norm)
            } else if let dynamic = nodes[source].op as? DynamicConv2d, dynamic.routing == .softmax {
                folded = dynamic.folding(norm)
            } else {
                folded = nil
            }
            guard let folded else { continue }
            nodes[source].op = folded
            alias[index] = source
            uses[source] = uses[index]  // the batch norm's consumers now read the convolution
            removed.insert(index)
        }

        var newIndex = [Int](repeating: -1, count: nodes.count)
        var kept: [Candidate] = []
        for index in nodes.indices where !removed.contains(index) {
            newIndex[index] = kept.count
            kept.append(nodes[index])
        }
        for index in nodes.indices where removed.contains(index) { newIndex[index] = newIndex[alias[index]] }
        for position in kept.indices {
            kept[position].inputs = kept[position].inputs.map { ref in
                if case .node(let source) = ref { return .node(newIndex[source]) }
                return ref
            }
        }
        return (kept, newIndex)
    }
}
