/// DDIM sampling (Song et al. 2021), step for step diffusers' `DDIMScheduler` with prediction_type
/// "epsilon" or "v_prediction" (the schedule's) and "leading" timestep spacing.
///
/// Defaults are exactly shared/bench/models.py's configuration: clip_sample false, set_alpha_to_one false
/// (the step past the last timestep lands on ᾱ_0, not 1), steps_offset 1, and η = 0 (deterministic; the
/// baseline loop calls step without eta). η > 0 mixes in fresh noise with σ_t = η·√β̃_t (η = 1 is DDPM-like).
/// As in diffusers, the previous timestep is t − T / steps.
public struct DDIMScheduler: DiffusionScheduler {
    public struct Config: Sendable, Equatable {
        public var clipSample: Bool
        public var clipSampleRange: Float
        /// Use ᾱ = 1 after the last step instead of ᾱ_0 (diffusers' set_alpha_to_one).
        public var setAlphaToOne: Bool
        public var stepsOffset: Int
        /// Stochasticity η in [0, 1] (diffusers passes it to step; here it is part of the sampler's configuration).
        public var eta: Float
        /// diffusers' `use_clipped_model_output`: step along ε̂ re-derived from the clipped x̂_0, so the two
        /// terms of the update agree. Without it, a v-prediction model under strong guidance keeps the
        /// unclipped (over-extrapolated) v inside ε̂, which drags images toward the complementary colour.
        public var useClippedModelOutput: Bool

        public init(clipSample: Bool = false, clipSampleRange: Float = 1, setAlphaToOne: Bool = false,
                    stepsOffset: Int = 1, eta: Float = 0, useClippedModelOutput: Bool = false) {
            self.clipSample = clipSample
            self.clipSampleRange = clipSampleRange
            self.setAlphaToOne = setAlphaToOne
            self.stepsOffset = stepsOffset
            self.eta = eta
            self.useClippedModelOutput = useClippedModelOutput
        }
    }

    public let schedule: NoiseSchedule
    public let config: Config
    public private(set) var timesteps: [Int] = []

    public init(schedule: NoiseSchedule, config: Config = Config()) throws {
        try SchedulerMath.checkConfig(clipSampleRange: config.clipSampleRange, stepsOffset: config.stepsOffset,
                                      schedule: schedule)
        // η > 1 would make 1 − ᾱ_prev − σ_t² negative (NaN samples).
        guard config.eta.isFinite, config.eta >= 0, config.eta <= 1 else {
            throw SchedulerError.invalidParameter(field: "eta", value: "\(config.eta)", expected: "between 0 and 1")
        }
        self.schedule = schedule
        self.config = config
    }

    public mutating func setTimesteps(_ steps: Int) throws {
        timesteps = try SchedulerMath.leadingTimesteps(steps: steps, schedule: schedule, offset: config.stepsOffset)
    }

    /// t − T / steps (negative past the end), diffusers' rule whatever the plan holds.
    public func previousTimestep(_ t: Int) throws -> Int {
        guard !timesteps.isEmpty else { throw SchedulerError.timestepsNotSet }
        return t - schedule.trainTimesteps / timesteps.count
    }

    public func addsNoise(at timestep: Int) -> Bool { config.eta > 0 }

    public func step(modelOutput: [Float], timestep t: Int, sample: [Float],
                     varianceNoise: [Float]?) throws -> SchedulerStepOutput {
        let prev = try previousTimestep(t)
        try schedule.checkTimestep(t, field: "timestep")
        try SchedulerMath.checkCount(modelOutput, "modelOutput", expected: sample.count)
        let ac = schedule.alphasCumprodFloat
        let alphaProd = ac[t]
        let alphaProdPrev = prev >= 0 ? ac[prev] : (config.setAlphaToOne ? 1 : ac[0])
        let betaProd = 1 - alphaProd, betaProdPrev = 1 - alphaProdPrev

        var (x0, epsilon) = SchedulerMath.originalAndEpsilon(modelOutput: modelOutput, sample: sample, alphaProd: alphaProd,
                                                             prediction: schedule.predictionType,
                                                             clip: config.clipSample ? config.clipSampleRange : nil)
        if config.useClippedModelOutput {
            // ε̂ = (x − √ᾱ·x̂_0) / √(1 − ᾱ), diffusers' order of float32 operations.
            let (sa, sb) = (alphaProd.squareRoot(), betaProd.squareRoot())
            for i in 0..<sample.count { epsilon[i] = (sample[i] - sa * x0[i]) / sb }
        }
        // σ_t = η·√β̃_t (formula (16) of the DDIM paper); the ε direction keeps the remaining variance.
        let variance = (betaProdPrev / betaProd) * (1 - alphaProd / alphaProdPrev)
        let std = config.eta * variance.squareRoot()
        let directionCoefficient = (1 - alphaProdPrev - std * std).squareRoot()
        var prevSample = SchedulerMath.combine(alphaProdPrev.squareRoot(), x0, directionCoefficient, epsilon)
        if addsNoise(at: t) {
            guard let noise = varianceNoise else { throw SchedulerError.missingVarianceNoise(timestep: t) }
            try SchedulerMath.checkCount(noise, "varianceNoise", expected: sample.count)
            SchedulerMath.addScaled(&prevSample, std, noise)
        }
        return SchedulerStepOutput(prevSample: prevSample, predOriginalSample: x0)
    }
}
