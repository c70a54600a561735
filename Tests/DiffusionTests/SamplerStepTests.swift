import XCTest
import Kernels
import Diffusion

final class SamplerStepTests: XCTestCase {
    /// Fixture: per-step `DDPMScheduler(beta_schedule=name, clip_sample=c).step(model_output, t, sample, generator)`
    /// (prev_sample, pred_original_sample) along 10- and 1000-step plans, the generator's variance noise recorded.
    func testDDPMStepsMatchDiffusers() throws {
        let f = try SchedulerFixture.load()
        var checked = 0
        for chain in f.steps where chain.scheduler == "ddpm" {
            XCTAssertEqual(chain.prediction_type, "epsilon")
            var s = try DDPMScheduler(schedule: SchedulerFixture.schedule(chain.beta_schedule),
                                      config: .init(clipSample: chain.clip_sample))
            try s.setTimesteps(chain.num_inference_steps)
            for r in chain.records {
                XCTAssertEqual(s.timesteps[r.index], r.timestep)
                XCTAssertEqual(s.addsNoise(at: r.timestep), r.variance_noise != nil)
                let out = try s.step(modelOutput: r.model_output, timestep: r.timestep, sample: r.sample,
                                     varianceNoise: r.variance_noise)
                let what = "DDPM \(chain.beta_schedule) clip=\(chain.clip_sample) N=\(chain.num_inference_steps) t=\(r.timestep)"
                assertClose(out.prevSample, r.prev_sample, what + " prev_sample")
                assertClose(out.predOriginalSample, r.pred_original_sample, what + " pred_original_sample")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 3 * (10 + 10 + 6))
    }

    /// Fixture: per-step `DDIMScheduler(models.py config).step(model_output, t, sample, eta, variance_noise=noise)`
    /// for η = 0 and 0.5 (10 steps) and η = 1 (500 steps).
    func testDDIMStepsMatchDiffusers() throws {
        let f = try SchedulerFixture.load()
        var checked = 0
        for chain in f.steps where chain.scheduler == "ddim" {
            var s = try DDIMScheduler(schedule: SchedulerFixture.schedule(chain.beta_schedule), config: .init(eta: chain.eta))
            try s.setTimesteps(chain.num_inference_steps)
            for r in chain.records {
                XCTAssertEqual(s.timesteps[r.index], r.timestep)
                let out = try s.step(modelOutput: r.model_output, timestep: r.timestep, sample: r.sample,
                                     varianceNoise: r.variance_noise)
                let what = "DDIM \(chain.beta_schedule) eta=\(chain.eta) N=\(chain.num_inference_steps) t=\(r.timestep)"
                assertClose(out.prevSample, r.prev_sample, what + " prev_sample")
                assertClose(out.predOriginalSample, r.pred_original_sample, what + " pred_original_sample")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 3 * (10 + 10 + 4))
    }

    /// Fixture: the same diffusers steps with prediction_type "v_prediction" (linear schedule; DDPM with
    /// clip_sample, DDIM with η = 0 and 0.5, and DDIM with clip_sample and use_clipped_model_output — how
    /// generation samples a v model), the model output read as v.
    func testVPredictionStepsMatchDiffusers() throws {
        let f = try SchedulerFixture.load()
        var checked = 0
        for chain in f.v_steps {
            XCTAssertEqual(chain.prediction_type, "v_prediction")
            let schedule = try SchedulerFixture.schedule(chain.beta_schedule, prediction: chain.prediction_type)
            var s: any DiffusionScheduler = chain.scheduler == "ddpm"
                ? try DDPMScheduler(schedule: schedule, config: .init(clipSample: chain.clip_sample))
                : try DDIMScheduler(schedule: schedule, config: .init(clipSample: chain.clip_sample, eta: chain.eta,
                                                                      useClippedModelOutput: chain.use_clipped_model_output ?? false))
            try s.setTimesteps(chain.num_inference_steps)
            for r in chain.records {
                let out = try s.step(modelOutput: r.model_output, timestep: r.timestep, sample: r.sample,
                                     varianceNoise: r.variance_noise)
                let what = "\(chain.scheduler) v_prediction eta=\(chain.eta) clipped=\(chain.use_clipped_model_output ?? false) t=\(r.timestep)"
                assertClose(out.prevSample, r.prev_sample, what + " prev_sample")
                assertClose(out.predOriginalSample, r.pred_original_sample, what + " pred_original_sample")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 40)
        XCTAssertTrue(f.v_steps.contains { $0.use_clipped_model_output == true && $0.clip_sample })
    }

    /// The last DDIM step lands on ᾱ_0 (set_alpha_to_one false): with ε = 0 it returns √ᾱ_0 · x/√ᾱ_1.
    func testDDIMLastStepUsesAlphaZero() throws {
        let schedule = try NoiseSchedule()
        var s = try DDIMScheduler(schedule: schedule)
        try s.setTimesteps(10)
        XCTAssertEqual(s.timesteps.last, 1)
        XCTAssertEqual(try s.previousTimestep(1), -99)
        let out = try s.step(modelOutput: [0, 0], timestep: 1, sample: [1, -2], varianceNoise: nil)
        let a0 = schedule.alphasCumprodFloat[0], a1 = schedule.alphasCumprodFloat[1]
        assertClose(out.prevSample, [a0.squareRoot() / a1.squareRoot(), -2 * a0.squareRoot() / a1.squareRoot()], "x_prev")
        var one = try DDIMScheduler(schedule: schedule, config: .init(setAlphaToOne: true))
        try one.setTimesteps(10)
        let toOne = try one.step(modelOutput: [0, 0], timestep: 1, sample: [1, -2], varianceNoise: nil)
        assertClose(toOne.prevSample, toOne.predOriginalSample, "set_alpha_to_one returns x̂_0")
    }

    /// Noise comes from the RNG only when the step uses it, so a seeded chain is reproducible.
    func testStepNoiseFromRNG() throws {
        var s = try DDPMScheduler(schedule: NoiseSchedule())
        try s.setTimesteps(4)
        let x: [Float] = [0.3, -0.7, 1.2, 0.1, -0.4], eps: [Float] = [0.2, 0.1, -0.5, 0.9, 0.0]
        var a = RNG(seed: 11), b = RNG(seed: 11), c = RNG(seed: 12)
        let t = s.timesteps[0]
        let outA = try s.step(modelOutput: eps, timestep: t, sample: x, rng: &a)
        let outB = try s.step(modelOutput: eps, timestep: t, sample: x, rng: &b)
        let outC = try s.step(modelOutput: eps, timestep: t, sample: x, rng: &c)
        XCTAssertEqual(outA, outB)
        XCTAssertNotEqual(outA.prevSample, outC.prevSample)
        var replay = RNG(seed: 11)
        XCTAssertEqual(try s.step(modelOutput: eps, timestep: t, sample: x, varianceNoise: replay.normal(count: x.count)), outA)
        // t = 0: no noise, the generator is untouched.
        let before = a
        let last = try s.step(modelOutput: eps, timestep: 0, sample: x, rng: &a)
        XCTAssertEqual(a, before)
        XCTAssertEqual(last, try s.step(modelOutput: eps, timestep: 0, sample: x, varianceNoise: nil))
        // DDIM with η = 0 never draws.
        var ddim = try DDIMScheduler(schedule: NoiseSchedule())
        try ddim.setTimesteps(4)
        _ = try ddim.step(modelOutput: eps, timestep: ddim.timesteps[0], sample: x, rng: &a)
        XCTAssertEqual(a, before)
    }

    func testBadStepInputGivesClearErrors() throws {
        let schedule = try NoiseSchedule()
        var ddpm = try DDPMScheduler(schedule: schedule)
        let x: [Float] = [0.1, 0.2, 0.3]
        XCTAssertThrowsError(try ddpm.step(modelOutput: x, timestep: 999, sample: x, varianceNoise: x)) { e in
            XCTAssertEqual(e as? SchedulerError, .timestepsNotSet)
        }
        try ddpm.setTimesteps(10)
        XCTAssertThrowsError(try ddpm.step(modelOutput: x, timestep: 950, sample: x, varianceNoise: x)) { e in
            XCTAssertTrue("\(e)".contains("not one of the planned timesteps [900, 800"), "\(e)")
        }
        XCTAssertThrowsError(try ddpm.step(modelOutput: [0.1], timestep: 900, sample: x, varianceNoise: x)) { e in
            XCTAssertEqual(e as? SchedulerError, .sizeMismatch(field: "modelOutput", expected: 3, got: 1))
        }
        XCTAssertThrowsError(try ddpm.step(modelOutput: x, timestep: 900, sample: x, varianceNoise: nil)) { e in
            XCTAssertEqual(e as? SchedulerError, .missingVarianceNoise(timestep: 900))
        }
        XCTAssertThrowsError(try ddpm.step(modelOutput: x, timestep: 900, sample: x, varianceNoise: [1])) { e in
            XCTAssertEqual(e as? SchedulerError, .sizeMismatch(field: "varianceNoise", expected: 3, got: 1))
        }
        for eta: Float in [-0.1, 1.5, .nan] {
            XCTAssertThrowsError(try DDIMScheduler(schedule: schedule, config: .init(eta: eta))) { e in
                XCTAssertTrue("\(e)".contains("eta"), "\(e)")
            }
        }
        var ddim = try DDIMScheduler(schedule: schedule, config: .init(eta: 0.5))
        try ddim.setTimesteps(10)
        XCTAssertThrowsError(try ddim.step(modelOutput: x, timestep: 1000, sample: x, varianceNoise: x)) { e in
            XCTAssertEqual(e as? SchedulerError, .timestepOutOfRange(field: "timestep", value: 1000, trainTimesteps: 1000))
        }
        XCTAssertThrowsError(try ddim.step(modelOutput: x, timestep: 901, sample: x, varianceNoise: nil)) { e in
            XCTAssertEqual(e as? SchedulerError, .missingVarianceNoise(timestep: 901))
        }
    }
}
