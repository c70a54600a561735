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

/// Classifier-free guidance (Ho & Salimans 2022): ε = ε_u + g·(ε_c − ε_u).
public struct ClassifierFreeGuidance: Sendable, Equatable {
    public let scale: Float

    /// Any finite scale; 1 and 0 need only one network pass per row.
    public init(scale: Float) throws {
        guard scale.isFinite else {
            throw SchedulerError.invalidParameter(field: "guidance scale", value: "\(scale)",
                                                  expected: "a finite number (1 = no guidance; the baseline uses 3)")
        }
        self.scale = scale
    }

    public var batch: GuidanceBatch {
        scale == 1 ? .conditionalOnly : (scale == 0 ? .unconditionalOnly : .unconditionalThenConditional)
    }

    /// The denoiser's input for a sample of `x`: x itself, or x twice (unconditional copy first).
    public func denoiserInput(_ x: [Float]) -> [Float] {
        batch == .unconditionalThenConditional ? x + x : x
    }

    /// The guided ε from the denoiser's output for `denoiserInput(x)` (of twice x's size when both halves ran).
    public func combine(_ output: [Float]) -> [Float] {
        guard batch == .unconditionalThenConditional else { return output }
        let n = output.count / 2
        var eps = [Float](repeating: 0, count: n)
        output.withUnsafeBufferPointer { o in
            for i in 0..<n { eps[i] = o[i] + scale * (o[n + i] - o[i]) }   // the baseline's float32 order
        }
        return eps
    }
}
