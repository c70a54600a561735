import Autograd
import Datasets
import Diffusion
import Files
import Foundation
import Kernels
import NN
import Preference
import XCTest

final class PreferenceTrainerTests: XCTestCase {
    private func run(_ objective: Objective, steps: Int, dir: String, data: String,
                     configure: (inout PreferenceTrainingConfig) -> Void = { _ in }) throws -> PreferenceTrainer {
        var config = PreferenceTrainingConfig()
        config.objective = objective
        config.steps = steps
        config.batchSize = 2
        config.checkpointEvery = 2
        config.warmupSteps = 0
        config.learningRate = 1e-3
        config.users = [0]
        configure(&config)
        let dataset = try PairDataset(directory: data, options: PairDatasetOptions(resolution: TinyWorld.resolution, users: [0]))
        let trainer = try PreferenceTrainer(model: try TinyWorld.model(), dataset: dataset, config: config, runDirectory: dir)
        try trainer.run { _, _ in "card" }
        return trainer
    }

    private func metrics(_ dir: String) throws -> [PreferenceTrainer.Metrics] {
        try JSONLines.read(PreferenceTrainer.Metrics.self, from: dir + "/metrics.jsonl").map(\.value)
    }

    func testDPOStartsAtLn2AndUsesAReference() throws {
        let data = try TinyWorld.dataset()
        let dir = NSTemporaryDirectory() + "t2i-run-\(UUID().uuidString)"
        let trainer = try run(.dpo, steps: 1, dir: dir, data: data)
        XCTAssertNotNil(trainer.reference)
        let m = try metrics(dir)[0]
        // θ = ref and both networks run the same kernels: exactly ln 2, and the update moved something.
        XCTAssertEqual(m.loss, 0.693147, accuracy: 1e-6)
        XCTAssertEqual(m.policyWin, m.referenceWin ?? .nan)
        XCTAssertGreaterThan(m.gradNorm, 0)
        XCTAssertEqual(trainer.dataset.report.filtered[.otherUser], 1, "the user filter drops user 5's pair")
    }

    func testMaPOAndSFTKeepNoReference() throws {
        let data = try TinyWorld.dataset()
        for objective in [Objective.mapo, .sft] {
            let dir = NSTemporaryDirectory() + "t2i-run-\(UUID().uuidString)"
            let trainer = try run(objective, steps: 1, dir: dir, data: data)
            XCTAssertNil(trainer.reference, "\(objective) must not keep a reference network")
            XCTAssertTrue(try metrics(dir)[0].loss.isFinite)
        }
    }

    func testResumeContinuesTheSameTrajectory() throws {
        let data = try TinyWorld.dataset()
        let whole = NSTemporaryDirectory() + "t2i-run-\(UUID().uuidString)"
        _ = try run(.dpo, steps: 4, dir: whole, data: data)
        let split = NSTemporaryDirectory() + "t2i-run-\(UUID().uuidString)"
        _ = try run(.dpo, steps: 2, dir: split, data: data)
        let resumed = try run(.dpo, steps: 4, dir: split, data: data)
        XCTAssertEqual(try metrics(whole).map(\.loss), try metrics(split).map(\.loss))
        XCTAssertEqual(try metrics(whole).map(\.policyWin), try metrics(split).map(\.policyWin))
        let a = try TextToImageModel.load(from: whole + "/model").unet.stateDict()
        let b = resumed.model.unet.stateDict()
        for (name, t) in a { XCTAssertEqual(t.toArray(), b[name]?.toArray(), name) }
    }

    func testResumeRefusesDifferentSettings() throws {
        let data = try TinyWorld.dataset()
        let dir = NSTemporaryDirectory() + "t2i-run-\(UUID().uuidString)"
        _ = try run(.dpo, steps: 2, dir: dir, data: data)
        XCTAssertThrowsError(try run(.dpo, steps: 4, dir: dir, data: data) { $0.beta = 100 }) { error in
            XCTAssertTrue("\(error)".contains("different settings"), "\(error)")
        }
    }

    /// config.json records every value used, the objective-dependent defaults included.
    func testConfigRecordsTheObjectivesDefaults() throws {
        let data = try TinyWorld.dataset()
        for (objective, beta, dropout) in [(Objective.dpo, "5000", "0"), (.dcpo, "500", "0"), (.mapo, "0.1", "0"), (.sft, nil, "0.1")] {
            let dir = NSTemporaryDirectory() + "t2i-run-\(UUID().uuidString)"
            _ = try run(objective, steps: 1, dir: dir, data: data)
            let json = try String(contentsOfFile: dir + "/config.json", encoding: .utf8)
            if let beta { XCTAssertTrue(json.contains("\"beta\" : \(beta),"), "\(objective): \(json)") }
            else { XCTAssertFalse(json.contains("\"beta\""), "SFT has no β: \(json)") }
            XCTAssertTrue(json.contains("\"promptDropout\" : \(dropout),"), "\(objective): \(json)")
            XCTAssertTrue(json.contains("\"gradientCheckpointing\" : false"), "\(objective): \(json)")
        }
        XCTAssertEqual(Objective.dpo.defaultBeta.map(Float.init), DiffusionDPOLoss.defaultBeta)
        XCTAssertEqual(Objective.mapo.defaultBeta.map(Float.init), MaPOLoss.defaultBeta)
    }

    /// The card names β for the objectives that have one, as a decimal, and embeds the resolved configuration.
    func testModelCardStatesBetaOnlyWhereThereIsOne() {
        func card(_ objective: Objective) -> String {
            var config = PreferenceTrainingConfig()
            config.objective = objective
            return AlignedModelCard.text(config: config.resolved, command: "t2ialign train", base: "Models/shapes-base",
                                         data: "cache/shapes", pairs: 10, last: nil, seconds: 60)
        }
        XCTAssertTrue(card(.mapo).contains("- **Objective**: mapo, β = 0.1\n"), card(.mapo))
        XCTAssertTrue(card(.mapo).contains("\"beta\" : 0.1,"), card(.mapo))
        XCTAssertTrue(card(.dpo).contains("- **Objective**: dpo, β = 5000.0\n"), card(.dpo))
        XCTAssertTrue(card(.sft).contains("- **Objective**: sft\n"), card(.sft))
        XCTAssertFalse(card(.sft).contains("β"), card(.sft))
    }

    /// A checkpoint whose config left the defaults out (written before they were recorded) resumes with the
    /// same flags; a different β, explicit or not, does not.
    func testResumeComparesResolvedSettings() {
        var old = PreferenceTrainingConfig()
        old.objective = .mapo
        var now = old.resolved
        now.steps = 1000
        XCTAssertTrue(now.resumes(old))
        now.gradientCheckpointing = true
        XCTAssertTrue(now.resumes(old), "gradient checkpointing may be switched")
        now.beta = 0.2
        XCTAssertFalse(now.resumes(old))
        var sft = PreferenceTrainingConfig()
        sft.objective = .sft
        var explicit = sft
        explicit.promptDropout = 0.1
        XCTAssertTrue(explicit.resumes(sft))
        explicit.promptDropout = 0
        XCTAssertFalse(explicit.resumes(sft))
    }

    /// `--gradient-checkpointing` is a memory knob: the same trajectory (to rounding), recorded in
    /// config.json, and a run may resume with it switched.
    func testGradientCheckpointingKeepsTheTrajectoryAndMayBeSwitchedOnResume() throws {
        let data = try TinyWorld.dataset()
        let plain = NSTemporaryDirectory() + "t2i-run-\(UUID().uuidString)"
        _ = try run(.dpo, steps: 4, dir: plain, data: data)
        let switched = NSTemporaryDirectory() + "t2i-run-\(UUID().uuidString)"
        let first = try run(.dpo, steps: 2, dir: switched, data: data) { $0.gradientCheckpointing = true }
        XCTAssertTrue(first.model.unet.gradientCheckpointing)
        let config = try String(contentsOfFile: switched + "/config.json", encoding: .utf8)
        XCTAssertTrue(config.contains("\"gradientCheckpointing\" : true"), config)
        _ = try run(.dpo, steps: 4, dir: switched, data: data)
        let a = try metrics(plain).map(\.loss), b = try metrics(switched).map(\.loss)
        XCTAssertEqual(a.count, 4)
        XCTAssertEqual(b.count, 4)
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-4 * max(1, abs(x))) }
    }

    /// One pair (winner row 0, loser row 1) at one fixed x_t, t = 500: the per-image losses of any model.
    private struct FixedPair {
        let xt: Tensor, noise: Tensor, context: Tensor
        let t = [500, 500]

        init(_ model: TextToImageModel) throws {
            var rng = RNG(seed: 4)
            let r = TinyWorld.resolution
            let x0 = Tensor.rand([2, 3, r, r], rng: &rng, low: -1, high: 1)
            let eps = Tensor.randn([1, 3, r, r], rng: &rng)
            noise = concat([eps, eps], axis: 0)
            xt = try model.schedule.addNoise(x0: x0, noise: noise, timesteps: t)
            context = try GradMode.withoutGrad { try model.encode(["a red circle", "a red circle"]) }
        }

        func losses(_ model: TextToImageModel) throws -> Tensor {
            mseLossPerSample(prediction: try model.unet(xt, timesteps: t.map(Float.init), context: context), target: noise)
        }
    }

    /// The model with a frozen text encoder and an AdamW over its U-Net (lr 1e-4, no decay).
    private func trainable(_ model: TextToImageModel) -> AdamW {
        model.textEncoder.setRequiresGrad(false)
        return AdamW(namedParameters: model.unet.namedParameters(), hyperparameters: .init(lr: 1e-4, weightDecay: 0))
    }

    func testOneStepRaisesTheDPOMarginOnThePair() throws {
        // After one optimizer step on the DPO loss, (Lθ_w − Lθ_l) − (Lref_w − Lref_l) must fall below 0 (the
        // policy now prefers the winner more than the reference does).
        let model = try TinyWorld.model()
        let reference = try model.clone()
        let pair = try FixedPair(model)
        let ref = try GradMode.withoutGrad { try pair.losses(reference).toArray() }
        let optimizer = trainable(model)
        let parts = split(try pair.losses(model), sizes: [1, 1], axis: 0)
        let out = DiffusionDPOLoss.loss(policyWin: parts[0], policyLose: parts[1], referenceWin: [ref[0]], referenceLose: [ref[1]])
        XCTAssertEqual(out.loss.item(), 0.693147, accuracy: 1e-6)
        out.loss.backward()
        optimizer.step()
        let after = try GradMode.withoutGrad { try pair.losses(model).toArray() }
        let margin = Double(after[0] - after[1]) - Double(ref[0] - ref[1])
        XCTAssertLessThan(margin, 0, "one step should lower Lθ_w − Lθ_l relative to the reference")
    }

    func testOneStepLowersTheMaPOLossOnThePair() throws {
        // MaPO has no reference: one optimizer step must lower its loss and Lθ_w − Lθ_l on the pair.
        let model = try TinyWorld.model()
        let pair = try FixedPair(model)
        let optimizer = trainable(model)
        func mapo() throws -> (out: MaPOLoss.Output, difference: Float) {
            let l = try pair.losses(model)
            let parts = split(l, sizes: [1, 1], axis: 0)
            let v = l.toArray()
            return (MaPOLoss.loss(win: parts[0], lose: parts[1]), v[0] - v[1])
        }
        let before = try mapo()
        before.out.loss.backward()
        optimizer.step()
        let after = try GradMode.withoutGrad { try mapo() }
        XCTAssertLessThan(after.out.loss.item(), before.out.loss.item())
        XCTAssertLessThan(after.difference, before.difference)
    }
}
