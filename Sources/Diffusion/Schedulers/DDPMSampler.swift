/// Ancestral DDPM sampling (Ho et al. 2020), step for step diffusers' `DDPMScheduler` with
/// prediction_type "epsilon" or "v_prediction", variance_type "fixed_small" and "leading" timestep spacing.
///
/// Defaults are those of shared/bench/models.py `make_schedulers`, which leaves DDPMScheduler at diffusers'
/// defaults: clip_sample **on** (x̂_0 clamped to ±1, right for images in [−1, 1]), steps_offset 0.
/// With fewer steps than training timesteps the step jumps from t to the next planned timestep, using
/// ᾱ_t / ᾱ_prev as the step's α, as diffusers does. The last step (t = 0) adds no noise.
public struct DDPMScheduler: DiffusionScheduler {
    public struct Config: Sendable, Equatable {
        /// Clamp x̂_0 to ±clipSampleRange (diffusers' clip_sample, default true).
        public var clipSample: Bool
        public var clipSampleRange: Float
        /// Added to every planned timestep (diffusers' steps_offset).
        public var stepsOffset: Int

        public init(clipSample: Bool = true, clipSampleRange: Float = 1, stepsOffset: Int = 0) {
            self.clipSample = clipSample
            self.clipSampleRange = clipSampleRange
            self.stepsOffset = stepsOffset
        }
    }

    public let schedule: NoiseSchedule
    public let config: Config
    public private(set) var timesteps: [Int] = []

    public init(schedule: NoiseSchedule, config: Config = Config()) throws {
        try SchedulerMath.checkConfig(clipSampleRange: config.clipSampleRange, stepsOffset: config.stepsOffset,
                                      schedule: schedule)
        self.schedule = schedule
        self.config = config
    }

    public mutating func setTimesteps(_ steps: Int) throws {
        timesteps = try SchedulerMath.leadingTimesteps(steps: steps, schedule: schedule, offset: config.stepsOffset)
    }

    /// The planned timestep after `t`, or −1 after the last one.
    public func previousTimestep(_ t: Int) throws -> Int {
        guard !timesteps.isEmpty else { throw SchedulerError.timestepsNotSet }
        guard let i = timesteps.firstIndex(of: t) else { throw SchedulerError.timestepNotPlanned(t, planned: timesteps) }
        return i + 1 < timesteps.count ? timesteps[i + 1] : -1
    }

    public func addsNoise(at timestep: Int) -> Bool { timestep > 0 }

    public func step(modelOutput: [Float], timestep t: Int, sample: [Float],
                     varianceNoise: [Float]?) throws -> SchedulerStepOutput {
        let prev = try previousTimestep(t)
        try SchedulerMath.checkCount(modelOutput, "modelOutput", expected: sample.count)
        // float32 scalars in diffusers' order (see NoiseSchedule for why this matters).
        let alphaProd = schedule.alphasCumprodFloat[t]
        let alphaProdPrev: Float = prev >= 0 ? schedule.alphasCumprodFloat[prev] : 1
        let betaProd = 1 - alphaProd, betaProdPrev = 1 - alphaProdPrev
        let currentAlpha = alphaProd / alphaProdPrev
        let currentBeta = 1 - currentAlpha

        let x0 = SchedulerMath.originalAndEpsilon(modelOutput: modelOutput, sample: sample, alphaProd: alphaProd,
                                                  prediction: schedule.predictionType,
                                                  clip: config.clipSample ? config.clipSampleRange : nil).x0
        // Mean of the posterior q(x_prev | x_t, x̂_0) (formula (7) of the DDPM paper).
        let x0Coefficient = (alphaProdPrev.squareRoot() * currentBeta) / betaProd
        let sampleCoefficient = currentAlpha.squareRoot() * betaProdPrev / betaProd
        var prevSample = SchedulerMath.combine(x0Coefficient, x0, sampleCoefficient, sample)
        if addsNoise(at: t) {
            guard let noise = varianceNoise else { throw SchedulerError.missingVarianceNoise(timestep: t) }
            try SchedulerMath.checkCount(noise, "varianceNoise", expected: sample.count)
            // fixed_small: the posterior variance β̃_t, floored as diffusers does.
            let variance = max(betaProdPrev / betaProd * currentBeta, 1e-20)
            SchedulerMath.addScaled(&prevSample, variance.squareRoot(), noise)
        }
        return SchedulerStepOutput(prevSample: prevSample, predOriginalSample: x0)
    }
}
