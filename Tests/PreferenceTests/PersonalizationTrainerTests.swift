import Autograd
import Datasets
import Diffusion
import Files
import Foundation
import Kernels
import NN
import Preference
import XCTest

final class PersonalizationTrainerTests: XCTestCase {
    private static let users: [(user: Int, taste: PersonalizationWorld.Taste, pairs: Int)] =
        [(1, .bright, 5), (2, .dark, 5), (3, .bright, 4)]

    private func config(steps: Int, personalized: String?, configure: (inout PreferenceTrainingConfig) -> Void = { _ in }) -> PreferenceTrainingConfig {
        var c = PreferenceTrainingConfig()
        c.objective = .dpo
        c.steps = steps
        c.batchSize = 2
        c.checkpointEvery = 2
        c.warmupSteps = 0
        c.learningRate = 1e-3
        c.users = nil
        c.personalization = personalized.map { PersonalizationSettings(userEncoder: $0, tokens: 2, userDropout: 0.3) }
        c.personalization?.tasteMargin = 0  // the toy encoder is untrained: its taste term moves no prediction by 0.1
        configure(&c)
        return c
    }

    @discardableResult
    private func run(_ config: PreferenceTrainingConfig, data: String, dir: String) throws -> PreferenceTrainer {
        let dataset = try PairDataset(directory: data, options: PairDatasetOptions(resolution: TinyWorld.resolution))
        let trainer = try PreferenceTrainer(model: TinyWorld.model(), dataset: dataset, config: config, runDirectory: dir)
        try trainer.run { _, _ in "card" }
        return trainer
    }

    private func metrics(_ dir: String) throws -> [PreferenceTrainer.Metrics] {
        try JSONLines.read(PreferenceTrainer.Metrics.self, from: dir + "/metrics.jsonl").map(\.value)
    }

    func testReferenceSeesNoUserTokens() throws {
        let data = try PersonalizationWorld.dataset(["train": Self.users])
        let encoder = try PersonalizationWorld.encoderFolder()
        let plainDir = PersonalizationWorld.temporaryDirectory("run")
        try run(config(steps: 1, personalized: nil), data: data, dir: plainDir)
        let plain = try metrics(plainDir)[0]
        XCTAssertEqual(plain.policyWin, plain.referenceWin)
        for injection in UserTokenInjection.allCases {
            let personalDir = PersonalizationWorld.temporaryDirectory("run")
            let trainer = try run(config(steps: 1, personalized: encoder) { $0.personalization?.injection = injection },
                                  data: data, dir: personalDir)
            let personal = try metrics(personalDir)[0]
            // Same batch, noise and t: the reference of the personalized run computes exactly what the plain
            // run's reference does (text only).
            XCTAssertEqual(personal.referenceWin, plain.referenceWin, "\(injection)")
            XCTAssertEqual(personal.referenceLose, plain.referenceLose, "\(injection)")
            switch injection {
            case .appended:
                // Zero tokens appended to the text's softmax already change the trained network's attention.
                XCTAssertNotEqual(personal.policyWin, personal.referenceWin)
            case .decoupled:
                // Zero tokens in their own branch add nothing: the trained network starts exactly at the
                // reference, so the first loss is DPO's ln 2, and only the projection gets a gradient through them.
                XCTAssertEqual(personal.policyWin, personal.referenceWin)
                XCTAssertEqual(personal.loss, log(2), accuracy: 1e-6)
                XCTAssertEqual(trainer.model.unet.decoupledBranches.count, trainer.model.unet.crossAttentionLayers.count)
            }
            XCTAssertGreaterThan(personal.gradNorm, 0)
            let projectionGrad = try XCTUnwrap(trainer.userProjection?.weight.grad, "the projection is trained jointly")
            XCTAssertTrue(projectionGrad.toArray().contains { $0 != 0 }, "\(injection): the gradient reaches the zero projection")
            XCTAssertTrue(trainer.userEncoder?.parameters().allSatisfy { !$0.requiresGrad } ?? false, "the user encoder stays frozen")
            XCTAssertEqual(trainer.userIndex?.users, [1, 2, 3], "all users' pairs at once")
            // The model folder carries both personalization parts, the decoupled branches with the projection.
            let parts = try PersonalizedModelParts.load(modelDirectory: trainer.modelPath)
            XCTAssertEqual(parts.projection.config.numTokens, 2)
            XCTAssertEqual(parts.projection.config.crossAttentionDim, 16)
            XCTAssertEqual(parts.projection.config.injection, injection)
            let saved = parts.projection.stateDict(), trained = try XCTUnwrap(trainer.userProjection).stateDict()
            XCTAssertEqual(Set(saved.keys), Set(trained.keys))
            XCTAssertEqual(saved.keys.count, injection == .decoupled ? 1 + 2 * trainer.model.unet.crossAttentionLayers.count : 1)
            for (name, t) in trained { XCTAssertEqual(saved[name]?.toArray(), t.toArray(), name) }
            XCTAssertNoThrow(try TextToImageModel.load(from: trainer.modelPath), "still a plain model folder too")
        }
    }

    func testPersonalizedResumeContinuesTheSameTrajectory() throws {
        let data = try PersonalizationWorld.dataset(["train": Self.users])
        let encoder = try PersonalizationWorld.encoderFolder()
        // Informative support is a fixed choice per pair; random support draws from the checkpointed "users" stream.
        var firstLosses: [UserSupportSelection: [Double]] = [:]
        for support in UserSupportSelection.allCases {
            let set = { (c: inout PreferenceTrainingConfig) -> Void in c.personalization?.support = support }
            let whole = PersonalizationWorld.temporaryDirectory("run"), split = PersonalizationWorld.temporaryDirectory("run")
            let a = try run(config(steps: 4, personalized: encoder, configure: set), data: data, dir: whole)
            try run(config(steps: 2, personalized: encoder, configure: set), data: data, dir: split)
            let b = try run(config(steps: 4, personalized: encoder, configure: set), data: data, dir: split)
            XCTAssertEqual(try metrics(whole).map(\.loss), try metrics(split).map(\.loss), "\(support)")
            XCTAssertEqual(try metrics(whole).map(\.policyWin), try metrics(split).map(\.policyWin), "\(support)")
            let pa = try XCTUnwrap(a.userProjection).stateDict(), pb = try XCTUnwrap(b.userProjection).stateDict()
            for (name, t) in pa { XCTAssertEqual(t.toArray(), pb[name]?.toArray(), "\(support) \(name)") }
            let ua = a.model.unet.stateDict(), ub = b.model.unet.stateDict()
            for (name, t) in ua { XCTAssertEqual(t.toArray(), ub[name]?.toArray(), name) }
            firstLosses[support] = try metrics(whole).map(\.loss)
            // Resuming with other personalization settings is refused.
            XCTAssertThrowsError(try run(config(steps: 6, personalized: encoder) { set(&$0); $0.personalization?.tokens = 3 }, data: data, dir: split)) {
                XCTAssertTrue("\($0)".contains("different settings"), "\($0)")
            }
        }
        XCTAssertNotEqual(firstLosses[.informative], firstLosses[.random], "the two selections give different embeddings")
    }

    func testTastePairsAreThoseWhoseUserChangesThePrediction() throws {
        let data = try PersonalizationWorld.dataset(["train": Self.users])
        // An untrained ψ has near-zero outputs; scaled up, its taste term moves predictions by user.
        let model = try PersonalizationWorld.encoder()
        let last = try XCTUnwrap(model.stateDict()["proj_out.weight"])
        for i in 0..<last.count { last.data[i] *= 200 }
        let encoder = PersonalizationWorld.temporaryDirectory("encoder")
        try model.save(to: encoder)
        let margin = 0.01
        let trainer = try run(config(steps: 2, personalized: encoder) { $0.personalization?.tasteMargin = margin },
                              data: data, dir: PersonalizationWorld.temporaryDirectory("run"))
        let kept = try XCTUnwrap(trainer.tastePairs)
        // The definition, recomputed from public parts: per user, MAP weights from all their pairs, then
        // |σ(logit with them) − σ(logit with μ)| ≥ margin.
        let index = try XCTUnwrap(trainer.userIndex), userEncoder = try XCTUnwrap(trainer.userEncoder)
        let prior = try userEncoder.prior()
        var expected: [Int] = []
        for user in index.users {
            let pairs = try index.supportPairs(of: user, need: 0)
            let features = try UserPairFeatures.compute(dataset: trainer.dataset, pairs: pairs, encoder: userEncoder)
            let own = prior.mapEstimate(features)
            func p(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
            expected += zip(pairs, features).filter { abs(p(prior.logit($0.1, weights: own)) - p(prior.logit($0.1, weights: prior.mean))) >= margin }.map(\.0)
        }
        XCTAssertEqual(kept, expected.sorted())
        XCTAssertFalse(kept.isEmpty)
        XCTAssertLessThanOrEqual(kept.count, trainer.dataset.count)
        var c = config(steps: 1, personalized: encoder) { $0.personalization?.tasteMargin = 1.5 }
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("--user-taste-pairs"), "\($0)") }
        c.personalization?.tasteMargin = 0
        XCTAssertNoThrow(try c.validate())
    }

    func testUserWithTooFewPairsIsRejected() throws {
        // K = 2 needs 3 pairs per user (K others for each pair); user 4 has 2.
        let data = try PersonalizationWorld.dataset(["train": Self.users + [(4, .dark, 2)]])
        let encoder = try PersonalizationWorld.encoderFolder(shots: 2)
        XCTAssertThrowsError(try run(config(steps: 1, personalized: encoder), data: data, dir: PersonalizationWorld.temporaryDirectory("run"))) { error in
            guard case PersonalizationError.tooFewPairs(4, 2, 3, _, _) = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("user 4"), "\(error)")
        }
    }

    func testPersonalizationSettingsAreValidated() throws {
        var c = config(steps: 1, personalized: "enc")
        c.objective = .mapo
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("--personalized works with --objective dpo"), "\($0)") }
        c = config(steps: 1, personalized: "enc") { $0.personalization?.userDropout = 1.5 }
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("--user-dropout"), "\($0)") }
        c = config(steps: 1, personalized: "/nonexistent/encoder")
        let data = try PersonalizationWorld.dataset(["train": Self.users])
        XCTAssertThrowsError(try run(c, data: data, dir: PersonalizationWorld.temporaryDirectory("run"))) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/encoder/config.json"), "\(error)")
        }
    }
}
