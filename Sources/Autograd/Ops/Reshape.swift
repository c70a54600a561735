extension Tensor {
    /// The same storage seen with another shape (one dimension may be -1). Differentiable.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        if let i = target.firstIndex(of: -1) {
            let known = target.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            target[i] = count / known
        }
        precondition(target.reduce(1, *) == count, "cannot reshape \(shape) (\(count) values) to \(newShape)")
        let out = Tensor(shape: target, storage: storage)
        let inShape = shape
        return Tensor.record(out, [self]) { g in [Tensor(shape: inShape, storage: g.storage)] }
    }
}
