import Autograd

/// The forward process q(x_t | x_0): x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε, one timestep per batch row (training).
extension NoiseSchedule {
    /// (√ᾱ_t, √(1 − ᾱ_t)) as diffusers' add_noise computes them: float32 ᾱ, float32 arithmetic.
    public func noiseCoefficients(at t: Int) -> (signal: Float, noise: Float) {
        let a = alphasCumprodFloat[t]
        return (a.squareRoot(), (1 - a).squareRoot())
    }

    /// x_t for a batch of flat rows: `x0` and `noise` hold `timesteps.count` rows of equal length, row-major.
    public func addNoise(x0: [Float], noise: [Float], timesteps: [Int]) throws -> [Float] {
        let rowLength = try checkNoiseInput(x0Count: x0.count, noiseCount: noise.count, timesteps: timesteps)
        let coefficients = timesteps.map { noiseCoefficients(at: $0) }
        var out = [Float](repeating: 0, count: x0.count)
        x0.withUnsafeBufferPointer { x in
            noise.withUnsafeBufferPointer { e in
                out.withUnsafeMutableBufferPointer { o in
                    guard let xp = x.baseAddress, let ep = e.baseAddress, let op = o.baseAddress else { return }
                    Self.scaleRows(xp, by: coefficients.map(\.signal), plus: ep, by: coefficients.map(\.noise),
                                   rowLength: rowLength, into: op)
                }
            }
        }
        return out
    }

    /// x_t as a differentiable op on `[N, …]` tensors (the gradient is √ᾱ_t·g for x0 and √(1 − ᾱ_t)·g for the
    /// noise), so an objective may backpropagate into x0; with plain data inputs it builds no graph.
    public func addNoise(x0: Tensor, noise: Tensor, timesteps: [Int]) throws -> Tensor {
        guard x0.shape == noise.shape else {
            throw SchedulerError.sizeMismatch(field: "noise (shape \(noise.shape) vs x0 \(x0.shape))",
                                              expected: x0.count, got: noise.count)
        }
        guard x0.shape.first == timesteps.count else {
            throw SchedulerError.sizeMismatch(field: "timesteps (one per row of x0 \(x0.shape))",
                                              expected: x0.shape.first ?? 0, got: timesteps.count)
        }
        let rowLength = try checkNoiseInput(x0Count: x0.count, noiseCount: noise.count, timesteps: timesteps)
        let coefficients = timesteps.map { noiseCoefficients(at: $0) }
        let out = Tensor.uninitialized(x0.shape)
        Self.scaleRows(x0.data, by: coefficients.map(\.signal), plus: noise.data, by: coefficients.map(\.noise),
                       rowLength: rowLength, into: out.data)
        return Tensor.record(out, [x0, noise]) { g in
            [x0.requiresGrad ? Self.scaled(g, rows: coefficients.map(\.signal), rowLength: rowLength) : nil,
             noise.requiresGrad ? Self.scaled(g, rows: coefficients.map(\.noise), rowLength: rowLength) : nil]
        }
    }

    /// Validates the batch and returns the row length.
    private func checkNoiseInput(x0Count: Int, noiseCount: Int, timesteps: [Int]) throws -> Int {
        guard noiseCount == x0Count else { throw SchedulerError.sizeMismatch(field: "noise", expected: x0Count, got: noiseCount) }
        for (i, t) in timesteps.enumerated() { try checkTimestep(t, field: "timesteps[\(i)]") }
        let rows = timesteps.count
        guard rows > 0 ? x0Count % rows == 0 : x0Count == 0 else {
            throw SchedulerError.invalidParameter(field: "x0", value: "\(x0Count) values",
                                                  expected: "\(rows) rows of equal length, one per timestep")
        }
        return rows > 0 ? x0Count / rows : 0
    }

    /// out[r, i] = a[r]·x[r, i] + b[r]·y[r, i].
    private static func scaleRows(_ x: UnsafePointer<Float>, by a: [Float], plus y: UnsafePointer<Float>, by b: [Float],
                                  rowLength: Int, into out: UnsafeMutablePointer<Float>) {
        for r in 0..<a.count {
            let (ar, br) = (a[r], b[r])
            for i in r * rowLength..<(r + 1) * rowLength { out[i] = ar * x[i] + br * y[i] }
        }
    }

    /// g with row r multiplied by s[r].
    private static func scaled(_ g: Tensor, rows s: [Float], rowLength: Int) -> Tensor {
        let out = Tensor.uninitialized(g.shape)
        let (gp, op) = (g.data, out.data)
        for r in 0..<s.count {
            for i in r * rowLength..<(r + 1) * rowLength { op[i] = s[r] * gp[i] }
        }
        return out
    }
}
