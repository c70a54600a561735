import Kernels

/// Matrix product, torch semantics for these cases:
/// [M, K]×[K, N] → [M, N]; batched [B, M, K]×[B, K, N] → [B, M, N]; [B, M, K]×[K, N] → [B, M, N]
/// (the right matrix shared by the whole batch).
public func matmul(_ a: Tensor, _ b: Tensor) -> Tensor {
    switch (a.rank, b.rank) {
    case (2, 2), (3, 2):
        precondition(a.shape[a.rank - 1] == b.shape[0], "matmul: inner dimensions differ in \(a.shape) × \(b.shape)")
        let k = b.shape[0], n = b.shape[1], m = a.count / max(k, 1)
        let out = Tensor.uninitialized(Array(a.shape.dropLast()) + [n])
        MatrixMultiplyKernels.batchedGemm(batch: 1, m: m, n: n, k: k, a: a.data, strideA: 0, b: b.data, strideB: 0,
                                          c: out.data, strideC: 0)
        return Tensor.record(out, [a, b]) { g in
            var da: Tensor?, db: Tensor?
            if a.requiresGrad {  // dA = G·Bᵀ
                let t = Tensor.uninitialized(a.shape)
                MatrixMultiplyKernels.batchedGemm(transB: true, batch: 1, m: m, n: k, k: n, a: g.data, strideA: 0,
                                                  b: b.data, strideB: 0, c: t.data, strideC: 0)
                da = t
            }
            if b.requiresGrad {  // dB = Aᵀ·G
                let t = Tensor.uninitialized(b.shape)
                MatrixMultiplyKernels.batchedGemm(transA: true, batch: 1, m: k, n: n, k: m, a: a.data, strideA: 0,
                                                  b: g.data, strideB: 0, c: t.data, strideC: 0)
                db = t
            }
            return [da, db]
        }
    case (3, 3):
        precondition(a.shape[0] == b.shape[0] && a.shape[2] == b.shape[1],
                     "matmul: batched shapes \(a.shape) × \(b.shape) need [B, M, K] × [B, K, N]")
        let batch = a.shape[0], m = a.shape[1], k = a.shape[2], n = b.shape[2]
        let out = Tensor.uninitialized([batch, m, n])
        MatrixMultiplyKernels.batchedGemm(batch: batch, m: m, n: n, k: k, a: a.data, strideA: m * k,
                                          b: b.data, strideB: k * n, c: out.data, strideC: m * n)
        return Tensor.record(out, [a, b]) { g in
            var da: Tensor?, db: Tensor?
            if a.requiresGrad {
                let t = Tensor.uninitialized(a.shape)
                MatrixMultiplyKernels.batchedGemm(transB: true, batch: batch, m: m, n: k, k: n, a: g.data, strideA: m * n,
                                                  b: b.data, strideB: k * n, c: t.data, strideC: m * k)
                da = t
            }
            if b.requiresGrad {
                let t = Tensor.uninitialized(b.shape)
                MatrixMultiplyKernels.batchedGemm(transA: true, batch: batch, m: k, n: n, k: m, a: a.data, strideA: m * k,
                                                  b: g.data, strideB: m * n, c: t.data, strideC: k * n)
                db = t
            }
            return [da, db]
        }
    default:
        preconditionFailure("matmul supports [M,K]×[K,N], [B,M,K]×[B,K,N] and [B,M,K]×[K,N]; got \(a.shape) × \(b.shape)")
    }
}

/// y = x·Wᵀ + bias with x [..., in], weight [out, in], bias [out] (torch's `F.linear`) → [..., out].
/// `recomputedInBackward`: the output carries a recipe (`Tensor.recompute`), so an op that keeps it as a
/// `SavedInput` (attention's query, key and value) frees it after the forward pass and redoes this GEMM in
/// backward — worth it for narrow projections whose consumer keeps nothing else (diffusers' `to_q/k/v`).
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, recomputedInBackward: Bool = false) -> Tensor {
    precondition(weight.rank == 2, "linear: weight must be [out, in], got \(weight.shape)")
    let outF = weight.shape[0], inF = weight.shape[1]
    precondition(x.rank >= 1 && x.shape[x.rank - 1] == inF,
                 "linear: input \(x.shape) must end with in_features = \(inF) (weight \(weight.shape))")
    if let bias { precondition(bias.shape == [outF], "linear: bias \(bias.shape) must be [\(outF)]") }
    let rows = x.count / max(inF, 1)
    let outShape = Array(x.shape.dropLast()) + [outF]
    func apply(_ x: Tensor) -> Tensor {
        let out = Tensor.uninitialized(outShape)
        MatrixMultiplyKernels.linearForward(x.data, weight: weight.data, bias: bias?.data, out.data,
                                            rows: rows, inFeatures: inF, outFeatures: outF)
        return out
    }
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    let savedX = SavedInput(x), xShape = x.shape, xNeeds = x.requiresGrad
    let recipe: (() -> Tensor)? = recomputedInBackward ? { savedX.withValue(apply) } : nil
    return Tensor.record(apply(x), inputs, recompute: recipe) { g in
        let dx = xNeeds ? Tensor.uninitialized(xShape) : nil
        let dw = weight.requiresGrad ? Tensor.uninitialized(weight.shape) : nil
        let db = bias?.requiresGrad == true ? Tensor.uninitialized([outF]) : nil
        savedX.withValue { x in
            MatrixMultiplyKernels.linearBackward(x.data, weight: weight.data, g.data, dx: dx?.data, dWeight: dw?.data,
                                                 dBias: db?.data, rows: rows, inFeatures: inF, outFeatures: outF)
        }
        return bias == nil ? [dx, dw] : [dx, dw, db]
    }
}
