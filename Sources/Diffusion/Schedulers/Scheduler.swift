import Kernels

/// The result of one reverse step, as diffusers' `SchedulerOutput`.
public struct SchedulerStepOutput: Sendable, Equatable {
    /// x_{t−1}, the next sample of the chain.
    public var prevSample: [Float]
    /// The model's estimate of x_0 at this step (clipped when the scheduler clips).
    public var predOriginalSample: [Float]
}

/// A reverse-process sampler with diffusers' scheduler protocol: plan the timesteps, then step through them
/// in order with the model's prediction (ε, or v for prediction_type "v_prediction"). Buffers are flat and hold any batch.
public protocol DiffusionScheduler: Sendable {
    var schedule: NoiseSchedule { get }
    /// The planned timesteps, descending; empty until `setTimesteps`.
    var timesteps: [Int] { get }
    /// Plans `steps` inference steps (diffusers' set_timesteps, "leading" spacing).
    mutating func setTimesteps(_ steps: Int) throws
    /// Whether the step at `timestep` adds fresh Gaussian noise, so callers draw noise only when it is used.
    func addsNoise(at timestep: Int) -> Bool
    /// One step from x_t to x_{t−1}; `varianceNoise` (standard normal, the sample's size) is required
    /// exactly when `addsNoise(at: timestep)`, and ignored otherwise.
    func step(modelOutput: [Float], timestep: Int, sample: [Float], varianceNoise: [Float]?) throws -> SchedulerStepOutput
}

extension DiffusionScheduler {
    /// One step whose noise, when the step adds any, is drawn from `rng` (nothing is drawn otherwise).
    public func step(modelOutput: [Float], timestep: Int, sample: [Float], rng: inout RNG) throws -> SchedulerStepOutput {
        let noise = addsNoise(at: timestep) ? rng.normal(count: sample.count) : nil
        return try step(modelOutput: modelOutput, timestep: timestep, sample: sample, varianceNoise: noise)
    }
}

/// Pieces both samplers share, with diffusers' float32 operation order (see `NoiseSchedule`).
enum SchedulerMath {
    /// diffusers' "leading" spacing: (0..<steps)·(T / steps), descending, plus `offset`.
    static func leadingTimesteps(steps: Int, schedule: NoiseSchedule, offset: Int) throws -> [Int] {
        let count = schedule.trainTimesteps
        guard steps >= 1, steps <= count else {
            throw SchedulerError.invalidInferenceSteps(steps: steps, reason: "use between 1 and \(count) (num_train_timesteps)")
        }
        let ratio = count / steps
        let first = (steps - 1) * ratio + offset
        guard first < count else {
            // The largest plan that fits (≥ 1 when 0 ≤ offset < T, which the schedulers' configs ensure).
            let largest = (1...count).last { ($0 - 1) * (count / $0) + offset < count } ?? 1
            throw SchedulerError.invalidInferenceSteps(
                steps: steps, reason: "with steps_offset \(offset) the first timestep would be \(first), past the last "
                    + "training timestep \(count - 1); use at most \(largest) steps")
        }
        return (0..<steps).reversed().map { $0 * ratio + offset }
    }

    /// The configuration checks both samplers share.
    static func checkConfig(clipSampleRange: Float, stepsOffset: Int, schedule: NoiseSchedule) throws {
        guard clipSampleRange.isFinite, clipSampleRange > 0 else {
            throw SchedulerError.invalidParameter(field: "clip_sample_range", value: "\(clipSampleRange)",
                                                  expected: "positive (1 for images in [-1, 1])")
        }
        guard stepsOffset >= 0, stepsOffset < schedule.trainTimesteps else {
            throw SchedulerError.invalidParameter(field: "steps_offset", value: "\(stepsOffset)",
                                                  expected: "in 0..<\(schedule.trainTimesteps) (the models use 0 for DDPM, 1 for DDIM)")
        }
    }

    /// Throws unless `b` has `expected` values.
    static func checkCount(_ b: [Float], _ field: String, expected: Int) throws {
        guard b.count == expected else { throw SchedulerError.sizeMismatch(field: field, expected: expected, got: b.count) }
    }

    /// x̂_0 = (x − √(1 − ᾱ_t)·ε) / √ᾱ_t, clamped to ±clip when given.
    static func predictOriginal(sample: [Float], epsilon: [Float], alphaProd: Float, clip: Float?) -> [Float] {
        let (sb, sa) = ((1 - alphaProd).squareRoot(), alphaProd.squareRoot())
        var x0 = [Float](repeating: 0, count: sample.count)
        for i in 0..<sample.count { x0[i] = (sample[i] - sb * epsilon[i]) / sa }
        if let r = clip {
            for i in 0..<x0.count { x0[i] = min(max(x0[i], -r), r) }
        }
        return x0
    }

    /// x̂_0 (clamped to ±clip when given) and ε̂ from the model output, as diffusers' schedulers read each
    /// prediction type: for v, x̂_0 = √ᾱ·x − √(1 − ᾱ)·v and ε̂ = √ᾱ·v + √(1 − ᾱ)·x.
    static func originalAndEpsilon(modelOutput: [Float], sample: [Float], alphaProd: Float,
                                   prediction: PredictionType, clip: Float?) -> (x0: [Float], epsilon: [Float]) {
        switch prediction {
        case .epsilon:
            return (predictOriginal(sample: sample, epsilon: modelOutput, alphaProd: alphaProd, clip: clip), modelOutput)
        case .vPrediction:
            let (sb, sa) = ((1 - alphaProd).squareRoot(), alphaProd.squareRoot())
            var x0 = [Float](repeating: 0, count: sample.count), eps = x0
            for i in 0..<sample.count {
                x0[i] = sa * sample[i] - sb * modelOutput[i]
                eps[i] = sa * modelOutput[i] + sb * sample[i]
            }
            if let r = clip {
                for i in 0..<x0.count { x0[i] = min(max(x0[i], -r), r) }
            }
            return (x0, eps)
        }
    }

    /// a·x + b·y, elementwise.
    static func combine(_ a: Float, _ x: [Float], _ b: Float, _ y: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: x.count)
        for i in 0..<x.count { out[i] = a * x[i] + b * y[i] }
        return out
    }

    /// x + s·noise, elementwise.
    static func addScaled(_ x: inout [Float], _ s: Float, _ noise: [Float]) {
        for i in 0..<x.count { x[i] += s * noise[i] }
    }
}
