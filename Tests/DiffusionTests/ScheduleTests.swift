import XCTest
import Autograd
import Kernels
import Diffusion

final class ScheduleTests: XCTestCase {
    /// Fixture: DDPMScheduler(num_train_timesteps=1000, beta_schedule=name, beta_start/beta_end as recorded)
    /// .betas and .alphas_cumprod (float32 tensors) for linear, scaled_linear and squaredcos_cap_v2.
    func testBetasAndAlphasCumprodMatchDiffusers() throws {
        let f = try SchedulerFixture.load()
        for ref in f.schedules {
            let s = try NoiseSchedule(BetaSchedule(name: ref.beta_schedule, betaStart: ref.beta_start, betaEnd: ref.beta_end))
            XCTAssertEqual(s.trainTimesteps, 1000)
            assertClose(s.betas, ref.betas, tolerance: 1e-6, "\(ref.beta_schedule) betas")
            assertClose(s.alphasCumprodFloat, ref.alphas_cumprod, "\(ref.beta_schedule) alphas_cumprod")
            // The Double ᾱ is the product the float32 values were rounded from.
            assertClose(s.alphasCumprod.map { Float($0) }, ref.alphas_cumprod, "\(ref.beta_schedule) Double ᾱ")
            XCTAssertTrue(zip(s.alphasCumprod, s.alphasCumprod.dropFirst()).allSatisfy { $0 > $1 }, "ᾱ decreases")
        }
    }

    func testDefaultsAreTheModelsSchedule() throws {
        let s = try NoiseSchedule()
        XCTAssertEqual(s.betaSchedule, .linear(betaStart: 0.0001, betaEnd: 0.02))
        XCTAssertEqual(s.betaSchedule.name, "linear")
        XCTAssertEqual(try BetaSchedule(name: "scaled_linear"), .scaledLinear(betaStart: 0.00085, betaEnd: 0.012))
        XCTAssertEqual(try BetaSchedule(name: "squaredcos_cap_v2"), .squaredCosCapV2(maxBeta: 0.999))
        for name in BetaSchedule.names { XCTAssertEqual(try BetaSchedule(name: name).name, name) }
    }

    func testBadScheduleParametersGiveClearErrors() {
        XCTAssertThrowsError(try BetaSchedule(name: "cosine")) { e in
            XCTAssertEqual(e as? SchedulerError, .unknownBetaSchedule("cosine"))
            XCTAssertTrue("\(e)".contains("squaredcos_cap_v2"), "\(e)")
        }
        XCTAssertThrowsError(try NoiseSchedule(trainTimesteps: 0)) { e in
            XCTAssertTrue("\(e)".contains("num_train_timesteps"), "\(e)")
        }
        for (start, end) in [(0.0, 0.02), (1e-4, 1.0), (-1e-4, 0.02), (Double.nan, 0.02), (1e-4, .infinity)] {
            XCTAssertThrowsError(try NoiseSchedule(.linear(betaStart: start, betaEnd: end))) { e in
                XCTAssertTrue("\(e)".contains("beta_"), "\(e)")
            }
            XCTAssertThrowsError(try NoiseSchedule(.scaledLinear(betaStart: start, betaEnd: end)))
        }
        XCTAssertThrowsError(try NoiseSchedule(.squaredCosCapV2(maxBeta: 1))) { e in
            XCTAssertTrue("\(e)".contains("max_beta"), "\(e)")
        }
    }

    /// Fixture: DDPMScheduler(beta_schedule=name).add_noise(x0, noise, torch.tensor([0, 1, 500, 999])), x0 and
    /// noise of shape (4, 2, 2, 2): one timestep per row.
    func testAddNoiseMatchesDiffusers() throws {
        let f = try SchedulerFixture.load()
        for ref in f.add_noise {
            let s = try SchedulerFixture.schedule(ref.beta_schedule)
            let flat = try s.addNoise(x0: ref.x0, noise: ref.noise, timesteps: ref.timesteps)
            assertClose(flat, ref.noisy, "\(ref.beta_schedule) add_noise")
            let shape = [ref.timesteps.count, 2, 2, 2]
            let tensor = try s.addNoise(x0: Tensor(shape: shape, data: ref.x0), noise: Tensor(shape: shape, data: ref.noise),
                                        timesteps: ref.timesteps)
            XCTAssertEqual(tensor.shape, shape)
            assertClose(tensor.toArray(), flat, tolerance: 1e-6, "\(ref.beta_schedule) add_noise on tensors")
        }
    }

    /// Fixture: DDPMScheduler(beta_schedule=name).get_velocity(x0, noise, t): v = √ᾱ·ε − √(1−ᾱ)·x0, the
    /// training target of a v-prediction model; an ε-prediction schedule's target is the noise itself.
    func testVelocityTargetMatchesDiffusers() throws {
        let f = try SchedulerFixture.load()
        XCTAssertEqual(f.velocity.count, 3)
        for ref in f.velocity {
            let shape = [ref.timesteps.count, 2, 2, 2]
            let x0 = Tensor(shape: shape, data: ref.x0), noise = Tensor(shape: shape, data: ref.noise)
            let v = try SchedulerFixture.schedule(ref.beta_schedule, prediction: "v_prediction")
                .trainingTarget(x0: x0, noise: noise, timesteps: ref.timesteps)
            assertClose(v.toArray(), ref.velocity, "\(ref.beta_schedule) get_velocity")
            let eps = try SchedulerFixture.schedule(ref.beta_schedule).trainingTarget(x0: x0, noise: noise, timesteps: ref.timesteps)
            XCTAssertEqual(eps.toArray(), ref.noise)
        }
    }

    func testAddNoiseGradient() throws {
        let s = try NoiseSchedule()
        var rng = RNG(seed: 3)
        let x0 = Tensor.randn([3, 2, 2, 2], rng: &rng), noise = Tensor.randn([3, 2, 2, 2], rng: &rng)
        let timesteps = [0, 400, 999]
        let r = GradientCheck.run([x0, noise]) { inputs in
            do {
                return try s.addNoise(x0: inputs[0], noise: inputs[1], timesteps: timesteps)
            } catch {
                XCTFail("\(error)")
                return inputs[0]
            }
        }
        XCTAssertLessThan(r.maxError, 1e-2, "\(r)")
        // Data inputs build no graph.
        let plain = try s.addNoise(x0: Tensor(zeros: [3, 2, 2, 2]), noise: Tensor(zeros: [3, 2, 2, 2]), timesteps: timesteps)
        XCTAssertFalse(plain.requiresGrad)
    }

    func testAddNoiseRejectsBadInput() throws {
        let s = try NoiseSchedule()
        let x = [Float](repeating: 0.5, count: 8)
        XCTAssertThrowsError(try s.addNoise(x0: x, noise: [Float](repeating: 0, count: 7), timesteps: [1, 2])) { e in
            XCTAssertEqual(e as? SchedulerError, .sizeMismatch(field: "noise", expected: 8, got: 7))
        }
        XCTAssertThrowsError(try s.addNoise(x0: x, noise: x, timesteps: [1, 1000])) { e in
            XCTAssertEqual(e as? SchedulerError, .timestepOutOfRange(field: "timesteps[1]", value: 1000, trainTimesteps: 1000))
        }
        XCTAssertThrowsError(try s.addNoise(x0: x, noise: x, timesteps: [-1, 0]))
        XCTAssertThrowsError(try s.addNoise(x0: x, noise: x, timesteps: [1, 2, 3])) { e in
            XCTAssertTrue("\(e)".contains("x0"), "\(e)")
        }
        XCTAssertThrowsError(try s.addNoise(x0: x, noise: x, timesteps: []))
        XCTAssertThrowsError(try s.addNoise(x0: Tensor(zeros: [2, 4]), noise: Tensor(zeros: [4, 2]), timesteps: [1, 2]))
        XCTAssertThrowsError(try s.addNoise(x0: Tensor(zeros: [2, 4]), noise: Tensor(zeros: [2, 4]), timesteps: [1])) { e in
            XCTAssertTrue("\(e)".contains("timesteps"), "\(e)")
        }
    }

    /// Fixture: set_timesteps(N).timesteps of models.py's DDPMScheduler (steps_offset 0) and DDIMScheduler
    /// (steps_offset 1), leading spacing.
    func testTimestepsMatchDiffusers() throws {
        let f = try SchedulerFixture.load()
        let schedule = try NoiseSchedule()
        for ref in f.timesteps {
            var scheduler: any DiffusionScheduler = ref.scheduler == "ddpm"
                ? try DDPMScheduler(schedule: schedule) : try DDIMScheduler(schedule: schedule)
            try scheduler.setTimesteps(ref.num_inference_steps)
            XCTAssertEqual(scheduler.timesteps, ref.timesteps, "\(ref.scheduler) N=\(ref.num_inference_steps)")
            XCTAssertEqual(ref.steps_offset, ref.scheduler == "ddpm" ? 0 : 1)
        }
    }

    func testImpossibleStepCountsGiveClearErrors() throws {
        let schedule = try NoiseSchedule()
        var ddim = try DDIMScheduler(schedule: schedule)
        // Leading spacing with steps_offset 1 would put the first of 1000 steps at t = 1000.
        XCTAssertThrowsError(try ddim.setTimesteps(1000)) { e in
            XCTAssertTrue("\(e)".contains("at most 999"), "\(e)")
        }
        try ddim.setTimesteps(999)
        XCTAssertEqual(ddim.timesteps.first, 999)
        var ddpm = try DDPMScheduler(schedule: schedule)
        for bad in [0, -3, 1001] {
            XCTAssertThrowsError(try ddpm.setTimesteps(bad)) { e in
                XCTAssertTrue("\(e)".contains("between 1 and 1000"), "\(e)")
            }
        }
        XCTAssertThrowsError(try DDPMScheduler(schedule: schedule, config: .init(stepsOffset: 1000)))
        XCTAssertThrowsError(try DDIMScheduler(schedule: schedule, config: .init(clipSampleRange: 0)))
    }
}
