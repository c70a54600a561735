import Kernels

/// Per-sample mean squared error: out[i] = mean over the non-batch elements of (prediction − target)².
/// This is the per-image denoising loss L[i] of every objective (a mean over C·H·W, not a sum), computed in
/// Float32 with a Double accumulator per sample. `target` receives no gradient (it is the drawn noise).
public func mseLossPerSample(prediction: Tensor, target: Tensor) -> Tensor {
    precondition(prediction.shape == target.shape, "mseLossPerSample: prediction \(prediction.shape) vs target \(target.shape)")
    precondition(prediction.rank >= 1, "mseLossPerSample needs a batch dimension")
    let n = prediction.shape[0]
    let per = n == 0 ? 0 : prediction.count / n
    let out = Tensor.uninitialized([n])
    let p = prediction.data, t = target.data, o = out.data
    Threading.parallelFor(n) { i in
        var acc = 0.0
        let base = i * per
        var j = 0
        var simdAcc = SIMD16<Float>(repeating: 0)
        while j + 16 <= per {
            let d = SIMD16<Float>(UnsafeBufferPointer(start: p + base + j, count: 16))
                - SIMD16<Float>(UnsafeBufferPointer(start: t + base + j, count: 16))
            simdAcc += d * d
            j += 16
        }
        acc += Double(simdAcc.sum())
        while j < per { let d = p[base + j] - t[base + j]; acc += Double(d * d); j += 1 }
        o[i] = Float(acc / Double(max(per, 1)))
    }
    // The graph keeps no input alive: the closure must hold `target` itself, not only its pointer, or a
    // target freed before backward (its last use is this call) would be read after its buffer was reused.
    return Tensor.record(out, [prediction]) { g in
        let dp = Tensor.uninitialized(prediction.shape)
        let p = prediction.data, t = target.data, gd = g.data, dd = dp.data
        Threading.parallelFor(n) { i in
            let scale = 2 * gd[i] / Float(max(per, 1))
            let base = i * per
            for j in 0..<per { dd[base + j] = scale * (p[base + j] - t[base + j]) }
        }
        return [dp]
    }
}
