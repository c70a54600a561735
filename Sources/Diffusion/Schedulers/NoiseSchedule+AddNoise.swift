import Autograd

/// The forward process q(x_t | x_0): x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε, one timestep per batch row (training).
extension NoiseSchedule {
    /// (√ᾱ_t, √(1 − ᾱ_t)) as diffusers' add_noise computes them: float32 ᾱ, float32 arithmetic. t must be valid.
    func noiseCoefficients(at t: Int) -> (signal: Float, noise: Float) {
        let a = alphasCumprodFloat[t]
        return (a.squareRoot(), (1 - a).squareRoot())
    }

    /// x_t for a batch of flat rows: `x0` and `noise` hold `timesteps.count` rows of equal length, row-major.
    public func addNoise(x0: [Float], noise: [Float], timesteps: [Int]) throws -> [Float] {
        let rowLength = try checkNoiseInput(x0Count: x0.count, noiseCount: noise.count, timesteps: timesteps)
        let coefficients = timesteps.map { noiseCoefficients(at: $0) }
        var out = [Float](repeating: 0, count: x0.count)
        for (row, (a, b)) in coefficients.enumerated() {
            for i in row * rowLength..<(row + 1) * rowLength { out[i] = a * x0[i] + b * noise[i] }
        }
        return out
    }

    /// x_t as a differentiable op on `[N, …]` tensors, built from the broadcasting ops (per-row coefficients of
    /// shape [N, 1, …]), so an objective may backpropagate into x0; with plain data inputs it builds no graph.
    public func addNoise(x0: Tensor, noise: Tensor, timesteps: [Int]) throws -> Tensor {
        guard x0.shape == noise.shape else {
            throw SchedulerError.sizeMismatch(field: "noise (shape \(noise.shape) vs x0 \(x0.shape))",
                                              expected: x0.count, got: noise.count)
        }
        guard x0.shape.first == timesteps.count else {
            throw SchedulerError.sizeMismatch(field: "timesteps (one per row of x0 \(x0.shape))",
                                              expected: x0.shape.first ?? 0, got: timesteps.count)
        }
        _ = try checkNoiseInput(x0Count: x0.count, noiseCount: noise.count, timesteps: timesteps)
        let coefficients = timesteps.map { noiseCoefficients(at: $0) }
        let perRow = [timesteps.count] + [Int](repeating: 1, count: x0.rank - 1)
        return x0 * Tensor(shape: perRow, data: coefficients.map(\.signal))
            + noise * Tensor(shape: perRow, data: coefficients.map(\.noise))
    }

    /// What the denoiser learns to output for x_t made from `x0` and `noise`: ε itself, or
    /// v = √ᾱ_t·ε − √(1 − ᾱ_t)·x_0 (diffusers' `get_velocity`), per row; plain data, no graph.
    public func trainingTarget(x0: Tensor, noise: Tensor, timesteps: [Int]) throws -> Tensor {
        switch predictionType {
        case .epsilon:
            return noise
        case .vPrediction:
            // v is x_t's formula with ε and x_0 swapped and the x_0 term negated.
            return try addNoise(x0: noise, noise: neg(x0).detached(), timesteps: timesteps).detached()
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
}
