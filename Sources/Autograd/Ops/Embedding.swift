import Kernels

/// Looks up rows of `table` [vocab, dim] for token ids: the result has shape `shape + [dim]`, where
/// `shape` describes the ids' layout (e.g. [B, L]; default [ids.count]). Only the table gets a gradient
/// (a scatter-add; repeated ids accumulate).
public func embedding(ids: [Int32], shape: [Int]? = nil, table: Tensor) -> Tensor {
    let idsShape = shape ?? [ids.count]
    precondition(table.rank == 2, "embedding: table must be [vocab, dim], got shape \(table.shape)")
    precondition(idsShape.allSatisfy { $0 >= 0 } && idsShape.reduce(1, *) == ids.count,
                 "embedding: ids shape \(idsShape) does not hold the \(ids.count) ids given")
    let vocab = table.shape[0], dim = table.shape[1]
    if let bad = ids.first(where: { $0 < 0 || Int($0) >= vocab }) {
        preconditionFailure("embedding: token id \(bad) is outside the table's vocabulary 0..<\(vocab); "
                            + "check the tokenizer and the model's vocab size")
    }
    let out = Tensor.uninitialized(idsShape + [dim])
    ids.withUnsafeBufferPointer { p in
        guard let base = p.baseAddress else { return }
        EmbeddingKernels.forward(ids: base, count: ids.count, table: table.data, dim: dim, out.data)
    }
    return Tensor.record(out, [table]) { g in
        let dt = Tensor(zeros: table.shape)
        ids.withUnsafeBufferPointer { p in
            guard let base = p.baseAddress else { return }
            EmbeddingKernels.backward(ids: base, count: ids.count, gradOutput: g.data, dim: dim, gradTable: dt.data)
        }
        return [dt]
    }
}
