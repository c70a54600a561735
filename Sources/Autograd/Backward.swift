import Kernels

extension Tensor {
    /// Reverse-mode differentiation from this tensor. With no `gradient`, the tensor must hold one value
    /// (a loss) and its gradient is 1. Leaves that require a gradient accumulate into `.grad`
    /// (call `zeroGrad()` between steps, or keep accumulating on purpose). The graph is consumed: every
    /// node, and with it what its backward function saved, is released once its gradient has been passed on.
    public func backward(_ gradient: Tensor? = nil) {
        let seed: Tensor
        if let gradient {
            precondition(gradient.shape == shape, "backward: gradient \(gradient.shape) for tensor \(shape)")
            seed = gradient
        } else {
            precondition(count == 1, "backward() without a gradient needs a one-element tensor, shape is \(shape)")
            seed = Tensor.full(shape, 1)
        }
        guard requiresGrad, let root = edge else { return }

        // Reverse topological order by iterative depth-first search (networks are deep; no recursion).
        var order: [GradEdge] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(GradEdge, Bool)] = [(root, false)]
        while let (e, expanded) = stack.popLast() {
            if expanded { order.append(e); continue }
            guard visited.insert(ObjectIdentifier(e)).inserted else { continue }
            stack.append((e, true))
            for case let input? in e.node?.inputs ?? [] where !visited.contains(ObjectIdentifier(input)) {
                stack.append((input, false))
            }
        }

        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(root): seed]
        for e in order.reversed() {
            guard let g = grads.removeValue(forKey: ObjectIdentifier(e)) else { continue }
            guard let node = e.node else {
                // A leaf: accumulate.
                guard let leaf = e.leaf else { continue }
                if let existing = leaf.grad {
                    Tensor.accumulate(g, into: existing)
                } else {
                    // Gradients returned by ops may alias other tensors: a leaf gets its own buffer.
                    leaf.grad = Tensor(shape: leaf.shape, storage: g.isUniquelyOwnedGradient ? g.storage : g.copy().storage)
                }
                continue
            }
            e.node = nil  // release what this op saved for backward once its gradient has run
            let inputGrads = node.backward(g)
            precondition(inputGrads.count == node.inputs.count, "backward returned \(inputGrads.count) gradients for \(node.inputs.count) inputs")
            // An accumulated gradient handed on as is to several inputs (add's [g, g]) is no longer owned by
            // one: adding into it in place, or a leaf adopting its buffer, would change the other input's too.
            for (i, ig) in inputGrads.enumerated() {
                guard let ig, ig.isUniquelyOwnedGradient else { continue }
                if inputGrads[(i + 1)...].contains(where: { $0 === ig }) { ig.isUniquelyOwnedGradient = false }
            }
            for (input, ig) in zip(node.inputs, inputGrads) {
                guard let input, let ig else { continue }
                precondition(ig.count == input.count, "gradient \(ig.shape) for an input of \(input.count) values")
                let key = ObjectIdentifier(input)
                if let existing = grads[key] {
                    // The first gradient may alias another tensor; copy before adding in place.
                    let sum = existing.isUniquelyOwnedGradient ? existing : existing.copy()
                    Tensor.accumulate(ig, into: sum)
                    sum.isUniquelyOwnedGradient = true
                    grads[key] = sum
                } else {
                    grads[key] = ig
                }
            }
        }
    }

    /// dst += src, elementwise (same element count).
    static func accumulate(_ src: Tensor, into dst: Tensor) {
        precondition(src.count == dst.count, "gradient accumulation: \(src.shape) into \(dst.shape)")
        let s = src.data, d = dst.data
        Threading.parallelRanges(dst.count) { r in
            for i in r { d[i] += s[i] }
        }
    }
}
