import Foundation
import XCTest
import Kernels
import Diffusion

final class SamplerLoopTests: XCTestCase {
    /// The fixture's stand-in network: ε = 0.9·sin(x + 0.001·t) + c_row, c = 0 for unconditional rows and
    /// condition[i] for the conditional row of sample i (make_scheduler_fixtures.py `analytic_eps`).
    private func analyticDenoiser(condition: [Float], seen: @escaping (DenoiserInput) -> Void = { _ in })
        -> (DenoiserInput) -> [Float] {
        { input in
            seen(input)
            let n = condition.count
            let rowLength = input.sample.count / input.shape[0]
            let rowCondition: [Float]
            switch input.batch {
            case .conditionalOnly: rowCondition = condition
            case .unconditionalOnly: rowCondition = [Float](repeating: 0, count: n)
            case .unconditionalThenConditional: rowCondition = [Float](repeating: 0, count: n) + condition
            }
            let shift = Float(0.001 * Double(input.timestep))
            return input.sample.indices.map { i in 0.9 * sin(input.sample[i] + shift) + rowCondition[i / rowLength] }
        }
    }

    /// Fixture: shared/bench/bench.py's DDIM loop (models.py DDIMScheduler, 10 steps, guidance 3,
    /// eps = eu + 3·(ec − eu) over torch.cat([x, x]) with the unconditional rows first) with `analytic_eps`.
    func testGuidedDDIMLoopMatchesBaseline() throws {
        let f = try SchedulerFixture.load()
        let ref = f.guided_loop
        let scheduler = try DDIMScheduler(schedule: SchedulerFixture.schedule(ref.beta_schedule))
        let rows = ref.shape[0]
        var calls = 0
        let x = try Sampling.sample(
            scheduler: scheduler, shape: ref.shape, steps: ref.num_inference_steps,
            guidance: ClassifierFreeGuidance(scale: ref.guidance_scale), generators: Sampling.generators(seed: 0, rows: rows),
            initialNoise: ref.initial_noise,
            denoise: analyticDenoiser(condition: ref.condition) { input in
                calls += 1
                XCTAssertEqual(input.batch, .unconditionalThenConditional)
                XCTAssertEqual(input.shape, [2 * rows] + ref.shape.dropFirst())
                // Both halves are the current sample.
                XCTAssertEqual(Array(input.sample[..<(input.sample.count / 2)]), Array(input.sample[(input.sample.count / 2)...]))
            })
        XCTAssertEqual(calls, ref.num_inference_steps)
        assertClose(x, ref.result, "guided DDIM loop")
    }

    /// ClassifierFreeGuidance.combine on [eu; ec]: numpy eu + 3 * (ec - eu) with eu = [0.5, -1, 2],
    /// ec = [1, 1, 1] → [2, 5, -1].
    func testGuidanceCombineReferenceValues() throws {
        let g = try ClassifierFreeGuidance(scale: 3)
        XCTAssertEqual(g.batch, .unconditionalThenConditional)
        XCTAssertEqual(g.denoiserInput([1, 2]), [1, 2, 1, 2])
        XCTAssertEqual(g.combine([0.5, -1, 2, 1, 1, 1]), [2, 5, -1])
        XCTAssertEqual(try ClassifierFreeGuidance(scale: 1).batch, .conditionalOnly)
        XCTAssertEqual(try ClassifierFreeGuidance(scale: 0).batch, .unconditionalOnly)
        XCTAssertEqual(try ClassifierFreeGuidance(scale: 1).combine([4, 5]), [4, 5])
        XCTAssertThrowsError(try ClassifierFreeGuidance(scale: .nan)) { e in
            XCTAssertTrue("\(e)".contains("guidance scale"), "\(e)")
        }
    }

    /// Guidance rescale against diffusers' `rescale_noise_cfg` (torch 2, diffusers 0.3x) for two samples of
    /// length 3: eu = [[0.5, -1, 2], [0.1, 0.2, -0.3]], ec = [[1, 1, 0], [0.4, -0.2, 0.1]], g = 3:
    ///     rescale_noise_cfg(eu + 3 * (ec - eu), ec, guidance_rescale=φ).flatten()
    func testGuidanceRescaleMatchesDiffusers() throws {
        let output: [Float] = [0.5, -1, 2, 0.1, 0.2, -0.3, 1, 1, 0, 0.4, -0.2, 0.1]
        let expected: [Float: [Float]] = [
            0.7: [0.7763834595680237, 1.9409584999084473, -1.5527669191360474, 0.4863448739051819, -0.4863448739051819, 0.43771040439605713],
            1.0: [0.2519763112068176, 0.6299407482147217, -0.5039526224136353, 0.2662069797515869, -0.2662069797515869, 0.23958629369735718],
        ]
        for (phi, values) in expected {
            let got = try ClassifierFreeGuidance(scale: 3, rescale: phi).combine(output, rowLength: 3)
            for (a, b) in zip(got, values) { XCTAssertEqual(a, b, accuracy: 1e-6, "φ = \(phi)") }
        }
        // φ = 0 is plain guidance, and per-sample std means rows do not affect each other.
        XCTAssertEqual(try ClassifierFreeGuidance(scale: 3, rescale: 0).combine(output, rowLength: 3),
                       try ClassifierFreeGuidance(scale: 3).combine(output))
        let first = try ClassifierFreeGuidance(scale: 3, rescale: 1).combine([0.5, -1, 2, 1, 1, 0], rowLength: 3)
        XCTAssertEqual(first, Array(try ClassifierFreeGuidance(scale: 3, rescale: 1).combine(output, rowLength: 3)[0..<3]))
        for bad: Float in [-0.1, 1.5, .nan] {
            XCTAssertThrowsError(try ClassifierFreeGuidance(scale: 3, rescale: bad)) { e in
                XCTAssertTrue("\(e)".contains("guidance rescale"), "\(e)")
            }
        }
    }

    /// Guidance 1 runs only the conditional rows and equals stepping DDIM with ε_c by hand.
    func testGuidanceOneSkipsTheUnconditionalHalf() throws {
        let scheduler = try DDIMScheduler(schedule: NoiseSchedule())
        let shape = [2, 1, 2, 2], condition: [Float] = [0.2, -0.3]
        let gens = Sampling.generators(seed: 5, rows: 2)
        let denoise = analyticDenoiser(condition: condition) { input in
            XCTAssertEqual(input.batch, .conditionalOnly)
            XCTAssertEqual(input.shape, shape)
        }
        let x = try Sampling.sample(scheduler: scheduler, shape: shape, steps: 5, guidance: ClassifierFreeGuidance(scale: 1),
                                    generators: gens, denoise: denoise)
        var manual = scheduler
        try manual.setTimesteps(5)
        var y = try Sampling.initialNoise(shape: shape, generators: gens)
        for t in manual.timesteps {
            let eps = denoise(DenoiserInput(sample: y, shape: shape, timestep: t, batch: .conditionalOnly))
            y = try manual.step(modelOutput: eps, timestep: t, sample: y, varianceNoise: nil).prevSample
        }
        XCTAssertEqual(x, y)
    }

    /// A row's image depends on its own generator only: sampling it alone or inside a batch gives the same
    /// result, with DDPM's per-step noise; the same generators reproduce, other seeds differ.
    func testRowNoiseIsIndependentOfTheBatch() throws {
        let scheduler = try DDPMScheduler(schedule: NoiseSchedule())
        let condition: [Float] = [0.1, 0.2, 0.3]
        let gens = Sampling.generators(seed: 42, rows: 3)
        let guidance = try ClassifierFreeGuidance(scale: 2.5)
        func run(_ g: [RNG], _ c: [Float]) throws -> [Float] {
            try Sampling.sample(scheduler: scheduler, shape: [g.count, 3, 2, 2], steps: 8, guidance: guidance,
                                generators: g, denoise: analyticDenoiser(condition: c))
        }
        let batch = try run(gens, condition)
        let alone = try run([gens[1]], [condition[1]])
        XCTAssertEqual(Array(batch[12..<24]), alone)
        XCTAssertEqual(try run(gens, condition), batch)
        XCTAssertNotEqual(try run(Sampling.generators(seed: 43, rows: 3), condition), batch)
        XCTAssertTrue(batch.allSatisfy(\.isFinite))
    }

    /// Passing the generators' own initial noise explicitly changes nothing; other initial noise changes the image.
    func testExplicitInitialNoise() throws {
        let scheduler = try DDIMScheduler(schedule: NoiseSchedule(), config: .init(eta: 0.5))
        let shape = [2, 2, 2, 2], condition: [Float] = [0.1, 0.4]
        let gens = Sampling.generators(seed: 9, rows: 2)
        let guidance = try ClassifierFreeGuidance(scale: 3)
        let drawn = try Sampling.sample(scheduler: scheduler, shape: shape, steps: 6, guidance: guidance, generators: gens,
                                        denoise: analyticDenoiser(condition: condition))
        let noise = try Sampling.initialNoise(shape: shape, generators: gens)
        XCTAssertEqual(noise.count, 16)
        XCTAssertEqual(try Sampling.sample(scheduler: scheduler, shape: shape, steps: 6, guidance: guidance, generators: gens,
                                           initialNoise: noise, denoise: analyticDenoiser(condition: condition)), drawn)
        let other = try Sampling.sample(scheduler: scheduler, shape: shape, steps: 6, guidance: guidance, generators: gens,
                                        initialNoise: noise.map { -$0 }, denoise: analyticDenoiser(condition: condition))
        XCTAssertNotEqual(other, drawn)
    }

    func testProgressReportsEveryStep() throws {
        var reports: [String] = []
        _ = try Sampling.sample(scheduler: DDIMScheduler(schedule: NoiseSchedule()), shape: [1, 1, 1, 2], steps: 3,
                                guidance: ClassifierFreeGuidance(scale: 0), generators: Sampling.generators(seed: 1, rows: 1),
                                progress: { reports.append("\($0)/\($1)") },
                                denoise: analyticDenoiser(condition: [0.5]) { XCTAssertEqual($0.batch, .unconditionalOnly) })
        XCTAssertEqual(reports, ["1/3", "2/3", "3/3"])
    }

    func testBadLoopInputGivesClearErrors() throws {
        let scheduler = try DDIMScheduler(schedule: NoiseSchedule())
        let guidance = try ClassifierFreeGuidance(scale: 3)
        let gens = Sampling.generators(seed: 1, rows: 2)
        let zeros: (DenoiserInput) -> [Float] = { [Float](repeating: 0, count: $0.sample.count) }
        XCTAssertThrowsError(try Sampling.sample(scheduler: scheduler, shape: [2, 0, 2], steps: 2, guidance: guidance,
                                                 generators: gens, denoise: zeros)) { e in
            XCTAssertEqual(e as? SchedulerError, .invalidShape([2, 0, 2]))
        }
        XCTAssertThrowsError(try Sampling.sample(scheduler: scheduler, shape: [3, 4], steps: 2, guidance: guidance,
                                                 generators: gens, denoise: zeros)) { e in
            XCTAssertTrue("\(e)".contains("one per row (3)"), "\(e)")
        }
        XCTAssertThrowsError(try Sampling.sample(scheduler: scheduler, shape: [2, 4], steps: 2, guidance: guidance,
                                                 generators: gens, initialNoise: [0, 1], denoise: zeros)) { e in
            XCTAssertEqual(e as? SchedulerError, .sizeMismatch(field: "initialNoise", expected: 8, got: 2))
        }
        XCTAssertThrowsError(try Sampling.sample(scheduler: scheduler, shape: [2, 4], steps: 0, guidance: guidance,
                                                 generators: gens, denoise: zeros)) { e in
            XCTAssertTrue("\(e)".contains("cannot sample with 0 steps"), "\(e)")
        }
        XCTAssertThrowsError(try Sampling.sample(scheduler: scheduler, shape: [2, 4], steps: 2, guidance: guidance,
                                                 generators: gens, denoise: { _ in [0, 0, 0] })) { e in
            XCTAssertEqual(e as? SchedulerError, .sizeMismatch(field: "denoiser output", expected: 16, got: 3))
        }
        XCTAssertThrowsError(try Sampling.sample(scheduler: scheduler, shape: [2, 4], steps: 2, guidance: guidance,
                                                 generators: gens, denoise: { [Float](repeating: .nan, count: $0.sample.count) })) { e in
            XCTAssertEqual(e as? SchedulerError, .nonFiniteDenoiserOutput(timestep: 501))
        }
    }
}
