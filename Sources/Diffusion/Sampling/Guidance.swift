/// Which rows the denoiser is asked for at each step. The unconditional rows use the empty prompt, which the
/// caller encodes (training drops prompts to "" with probability p_uncond, so "" is the null condition).
public enum GuidanceBatch: Sendable, Equatable {
    /// N rows, each with its prompt (guidance scale 1: ε = ε_c).
    case conditionalOnly
    /// N rows, all with the empty prompt (guidance scale 0: ε = ε_u).
    case unconditionalOnly
    /// 2N rows: the N unconditional rows first, then the N conditional rows (as the PyTorch baseline).
    case unconditionalThenConditional

    /// Denoiser rows per sample row.
    public var rowsPerSample: Int { self == .unconditionalThenConditional ? 2 : 1 }
}

/// Classifier-free guidance (Ho & Salimans 2022): ε = ε_u + g·(ε_c − ε_u), optionally rescaled
/// (Lin et al. 2024, "Common Diffusion Noise Schedules and Sample Steps are Flawed", §3.4; diffusers'
/// `guidance_rescale`): per sample, ε ← φ·ε·std(ε_c)/std(ε) + (1 − φ)·ε, which undoes the over-saturation a
/// large g gives v-prediction models. The model output may be ε or v; the formula is the same.
public struct ClassifierFreeGuidance: Sendable, Equatable {
    public let scale: Float
    /// φ in [0, 1]; 0 = plain guidance.
    public let rescale: Float

    /// Any finite scale; 1 and 0 need only one network pass per row.
    public init(scale: Float, rescale: Float = 0) throws {
        guard scale.isFinite else {
            throw SchedulerError.invalidParameter(field: "guidance scale", value: "\(scale)",
                                                  expected: "a finite number (1 = no guidance; the baseline uses 3)")
        }
        guard rescale >= 0 && rescale <= 1 else {
            throw SchedulerError.invalidParameter(field: "guidance rescale", value: "\(rescale)",
                                                  expected: "a number from 0 (off) to 1 (Lin et al. suggest 0.7)")
        }
        self.scale = scale
        self.rescale = rescale
    }

    public var batch: GuidanceBatch {
        scale == 1 ? .conditionalOnly : (scale == 0 ? .unconditionalOnly : .unconditionalThenConditional)
    }

    /// The denoiser's input for a sample of `x`: x itself, or x twice (unconditional copy first).
    public func denoiserInput(_ x: [Float]) -> [Float] {
        batch == .unconditionalThenConditional ? x + x : x
    }

    /// The guided ε from the denoiser's output for `denoiserInput(x)` (of twice x's size when both halves ran).
    /// `rowLength` is one sample's size (the rescale's std is per sample); nil = the whole half is one sample.
    public func combine(_ output: [Float], rowLength: Int? = nil) -> [Float] {
        guard batch == .unconditionalThenConditional else { return output }
        let n = output.count / 2
        var eps = [Float](repeating: 0, count: n)
        output.withUnsafeBufferPointer { o in
            for i in 0..<n { eps[i] = o[i] + scale * (o[n + i] - o[i]) }   // the baseline's float32 order
            guard rescale > 0 else { return }
            let length = rowLength ?? n
            for start in stride(from: 0, to: n, by: length) {
                let cond = UnsafeBufferPointer(rebasing: o[(n + start)..<(n + start + length)])
                let ratio = eps.withUnsafeBufferPointer { Self.std(cond) / Self.std(UnsafeBufferPointer(rebasing: $0[start..<(start + length)])) }
                guard ratio.isFinite else { continue }   // a constant guided output has nothing to rescale
                for i in start..<(start + length) { eps[i] = rescale * eps[i] * ratio + (1 - rescale) * eps[i] }
            }
        }
        return eps
    }

    /// Sample standard deviation (N − 1, as torch.std), in Double.
    static func std(_ x: UnsafeBufferPointer<Float>) -> Float {
        guard x.count > 1 else { return 0 }
        var mean = 0.0
        for v in x { mean += Double(v) }
        mean /= Double(x.count)
        var ss = 0.0
        for v in x { ss += (Double(v) - mean) * (Double(v) - mean) }
        return Float((ss / Double(x.count - 1)).squareRoot())
    }
}
