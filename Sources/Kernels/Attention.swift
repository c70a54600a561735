import Foundation

/// Multi-head scaled dot-product attention, forward and backward, as GEMMs per (batch, head) with a row
/// softmax in between (llm.c style, no fused kernel).
///
/// Layouts: q [batch, lq, dim], k and v [batch, lk, dim], out [batch, lq, dim]; head h owns the columns
/// h·headDim..<(h+1)·headDim, read in place through the GEMM leading dimension (no head transpose).
/// The forward keeps only each row's log Σ exp of the scores, logSumExp [batch, heads, lq]; the backward
/// recomputes the softmax P = exp(q·kᵀ/√headDim − logSumExp) one (batch, head) at a time, as
/// FlashAttention does, so training holds lq·heads floats per sample instead of lq·lk·heads (the
/// largest activation of the U-Net's attention layers) for one extra GEMM. The causal mask is torch's
/// `is_causal`: query i attends to keys 0…i.
/// (batch, head) pairs run in parallel with OpenBLAS at one thread (`Threading.parallelBatch`); P and its
/// gradient live in a per-task scratch buffer of lq·lk floats.
public enum AttentionKernels {
    /// out = softmax(q·kᵀ/√headDim [+ mask])·v per head; `logSumExp` (nil for inference) receives each
    /// row's log Σ exp of the visible scaled scores for the backward pass.
    public static func forward(query q: UnsafePointer<Float>, key k: UnsafePointer<Float>,
                               value v: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                               logSumExp: UnsafeMutablePointer<Float>?,
                               batch: Int, queryLength lq: Int, keyLength lk: Int, dim: Int, heads: Int,
                               causal: Bool) {
        let hd = dim / heads
        guard batch > 0, lq > 0, hd > 0 else { return }
        if lk == 0 {  // nothing to attend to: torch returns zeros
            out.initialize(repeating: 0, count: batch * lq * dim)
            return
        }
        let scale = 1 / Float(hd).squareRoot()
        let lse = logSumExp.map(UncheckedSendable.init)
        Threading.parallelBatch(batch * heads) { task in
            let b = task / heads, h = task % heads
            let qp = q + b * lq * dim + h * hd, kp = k + b * lk * dim + h * hd, vp = v + b * lk * dim + h * hd
            let p = BufferPool.allocate(lq * lk)
            defer { BufferPool.release(p, lq * lk) }
            probabilities(p, query: qp, key: kp, queryLength: lq, keyLength: lk, headDim: hd, dim: dim,
                          scale: scale, causal: causal) { i, row, visible in
                let (m, sum) = SoftmaxKernels.softmaxRow(row, row, visible)
                if let lse { lse.value[task * lq + i] = m + log(sum) }
            }
            BLAS.sgemm(m: lq, n: hd, k: lk, a: p, lda: lk, b: vp, ldb: dim, c: out + b * lq * dim + h * hd, ldc: dim)
        }
    }

    /// From dOut and the saved logSumExp: P = exp(q·kᵀ/√headDim − logSumExp) (0 where masked),
    /// dV = Pᵀ·dO, dP = dO·Vᵀ, dS = P∘(dP − rowsum(dP∘P)) (masked entries have P = 0, so dS = 0 there),
    /// dQ = dS·K/√headDim, dK = dSᵀ·Q/√headDim. Outputs left nil are skipped.
    public static func backward(query q: UnsafePointer<Float>, key k: UnsafePointer<Float>,
                                value v: UnsafePointer<Float>, logSumExp: UnsafePointer<Float>, causal: Bool,
                                gradOutput dOut: UnsafePointer<Float>,
                                gradQuery dq: UnsafeMutablePointer<Float>?, gradKey dk: UnsafeMutablePointer<Float>?,
                                gradValue dv: UnsafeMutablePointer<Float>?,
                                batch: Int, queryLength lq: Int, keyLength lk: Int, dim: Int, heads: Int) {
        let hd = dim / heads
        guard batch > 0, hd > 0 else { return }
        if lq == 0 || lk == 0 {  // no attention weights: every gradient is zero
            dq?.initialize(repeating: 0, count: batch * lq * dim)
            dk?.initialize(repeating: 0, count: batch * lk * dim)
            dv?.initialize(repeating: 0, count: batch * lk * dim)
            return
        }
        let scale = 1 / Float(hd).squareRoot()
        let dqs = dq.map(UncheckedSendable.init), dks = dk.map(UncheckedSendable.init)
        let dvs = dv.map(UncheckedSendable.init)
        Threading.parallelBatch(batch * heads) { task in
            let b = task / heads, h = task % heads
            let qOff = b * lq * dim + h * hd, kOff = b * lk * dim + h * hd
            let p = BufferPool.allocate(2 * lq * lk), ds = p + lq * lk
            defer { BufferPool.release(p, 2 * lq * lk) }
            probabilities(p, query: q + qOff, key: k + kOff, queryLength: lq, keyLength: lk, headDim: hd, dim: dim,
                          scale: scale, causal: causal) { i, row, visible in
                SoftmaxKernels.probabilitiesRow(row, logSumExp: logSumExp[task * lq + i], visible)
            }
            let go = dOut + qOff
            if let dv = dvs?.value {
                BLAS.sgemm(transA: true, m: lk, n: hd, k: lq, a: p, lda: lk, b: go, ldb: dim, c: dv + kOff, ldc: dim)
            }
            guard dqs != nil || dks != nil else { return }
            BLAS.sgemm(transB: true, m: lq, n: lk, k: hd, a: go, lda: dim, b: v + kOff, ldb: dim, c: ds, ldc: lk)
            for i in 0..<lq { SoftmaxKernels.softmaxRowBackward(p + i * lk, ds + i * lk, ds + i * lk, lk) }
            if let dq = dqs?.value {
                BLAS.sgemm(m: lq, n: hd, k: lk, alpha: scale, a: ds, lda: lk, b: k + kOff, ldb: dim,
                           c: dq + qOff, ldc: dim)
            }
            if let dk = dks?.value {
                BLAS.sgemm(transA: true, m: lk, n: hd, k: lq, alpha: scale, a: ds, lda: lk, b: q + qOff, ldb: dim,
                           c: dk + kOff, ldc: dim)
            }
        }
    }

    /// P for one (batch, head), shared by the forward pass and the backward recomputation: the scaled
    /// scores q·kᵀ/√headDim into p [lq, lk], then `softmax(i, row, visible)` turns each row's first
    /// `visible` scores (all, or keys 0…i when causal) into probabilities, and the masked rest is zeroed.
    @inline(__always)
    static func probabilities(_ p: UnsafeMutablePointer<Float>, query: UnsafePointer<Float>, key: UnsafePointer<Float>,
                              queryLength lq: Int, keyLength lk: Int, headDim hd: Int, dim: Int, scale: Float,
                              causal: Bool, softmax: (Int, UnsafeMutablePointer<Float>, Int) -> Void) {
        BLAS.sgemm(transB: true, m: lq, n: lk, k: hd, alpha: scale, a: query, lda: dim, b: key, ldb: dim, c: p, ldc: lk)
        for i in 0..<lq {
            let row = p + i * lk
            let visible = causal ? min(lk, i + 1) : lk
            softmax(i, row, visible)
            if visible < lk { (row + visible).initialize(repeating: 0, count: lk - visible) }
        }
    }
}
