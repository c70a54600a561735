import Autograd
import Datasets
import Files
import Foundation
import Kernels
import NN
import Scoring
import ShapesWorld
import XCTest

/// Training resumes exactly, and agreement is measured on a small synthesized Shapes dataset.
final class ScorerTrainerTests: ScorerTempDirTestCase {
    func synthesize() throws -> String {
        var c = SynthesisConfig()
        c.resolution = 16
        c.populationPairs = 40
        c.users = UserPopulationConfig(trainingPerArchetype: 1, heldOutPerArchetype: 0, minPairs: 4, maxPairs: 6)
        c.uniqueSplits = false
        let dir = path("data")
        try ShapesSynthesizer.synthesize(c, to: dir)
        return dir
    }

    func settings(steps: Int) -> ScorerTrainingConfig {
        var s = ScorerTrainingConfig()
        s.steps = steps
        s.batchSize = 4
        s.learningRate = 3e-3
        s.lrSchedule = "constant_with_warmup"  // independent of the step budget, so 2 + 2 steps equal 4
        s.warmupSteps = 1
        s.checkpointEvery = 1
        s.model = TinyScorer.config
        return s
    }

    func train(_ data: String, steps: Int, out: String) throws -> ScorerTrainer {
        var options = PairDatasetOptions(keepTies: true, resolution: 16)
        options.users = [0]
        let dataset = try PairDataset(directory: data, split: "train", options: options)
        var rng = RNG(seed: 0)
        let trainer = try ScorerTrainer(scorer: PreferenceScorer(config: TinyScorer.config, rng: &rng), dataset: dataset,
                                        config: settings(steps: steps), runDirectory: out)
        XCTAssertTrue(try trainer.run { last, _ in "loss \(last?.loss ?? .nan)" })
        return trainer
    }

    func testResumedRunEqualsUninterruptedRun() throws {
        let data = try synthesize()
        let straight = try train(data, steps: 4, out: path("a"))
        _ = try train(data, steps: 2, out: path("b"))
        let resumed = try train(data, steps: 4, out: path("b"))

        let a = try SafeTensors.read(straight.modelPath + "/model.safetensors").tensors
        let b = try SafeTensors.read(resumed.modelPath + "/model.safetensors").tensors
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        for (name, t) in a { XCTAssertEqual(t.toArray(), b[name]?.toArray(), name) }
        let steps = try JSONLines.read(ScorerTrainer.Metrics.self, from: resumed.metricsPath).map(\.value.step)
        XCTAssertEqual(steps, [1, 2, 3, 4])
        XCTAssertNotEqual(a["logit_scale"]?.item(), Float(log(1 / 0.07)), "training moved the scale")

        // A different setting refuses to resume into the same directory.
        var other = settings(steps: 6)
        other.learningRate = 1e-2
        var rng = RNG(seed: 0)
        var options = PairDatasetOptions(keepTies: true, resolution: 16)
        options.users = [0]
        let trainer = try ScorerTrainer(scorer: PreferenceScorer(config: TinyScorer.config, rng: &rng),
                                        dataset: PairDataset(directory: data, split: "train", options: options),
                                        config: other, runDirectory: path("b"))
        XCTAssertThrowsError(try trainer.run { _, _ in "" }) { XCTAssertTrue("\($0)".contains("different settings"), "\($0)") }
    }

    func testAgreementMatchesTheOracleComputedDirectly() throws {
        let data = try synthesize()
        let scorer = try TinyScorer.make()
        let report = try AgreementEvaluation.evaluate(scorer: scorer, directory: data, split: "train", users: nil,
                                                      thresholdSplit: "train")
        let dataset = try AgreementEvaluation.open(directory: data, split: "train", users: nil, resolution: 16)
        XCTAssertEqual(report.scorer.pairs, dataset.count)
        let oracle = try XCTUnwrap(report.oracle, report.oracleNote ?? "")

        // The oracle's pairs, recomputed with each row's user weights from users.json.
        let users = try UsersFile.read(data)
        var pairs: [ScoredPair] = []
        for i in 0..<dataset.count {
            let pair = try dataset.pair(at: i)
            let images = try dataset.images(of: pair)
            let weights = try UsersFile.user(pair.userID, in: users).weights
            let s = try OracleRewardScorer(weights: weights).scores(images: [images.winner, images.loser], prompts: [pair.prompt, pair.prompt])
            pairs.append(ScoredPair(first: s[0], second: s[1], isTie: pair.isTie))
        }
        XCTAssertEqual(oracle.nonTieAgreement, ScorerAgreement.nonTieAgreement(pairs))
        XCTAssertEqual(oracle.tieThreshold, ScorerAgreement.tuneThreshold(pairs, temperature: 0.5).threshold)
        // Labels are Bradley–Terry draws on these rewards, so the oracle agrees with most of them.
        XCTAssertGreaterThan(oracle.nonTieAgreement ?? 0, 0.6)
        XCTAssertTrue(report.text.contains("oracle r_u"))

        // The labels were drawn from exactly these rewards: a pair is a tie iff |Δr| < 0.05 ...
        for p in pairs { XCTAssertEqual(p.isTie, abs(p.first - p.second) < 0.05, "\(p)") }
        // ... so the expected agreements are computed over the same non-tie pairs, the oracle's is its mean σ(|Δr|/T).
        let expected = try XCTUnwrap(report.expected)
        let decided = pairs.filter { !$0.isTie }
        let oracleMean = decided.reduce(0.0) { $0 + 1 / (1 + exp(-abs($1.first - $1.second) / 0.5)) } / Double(decided.count)
        XCTAssertEqual(expected.oracle, oracleMean, accuracy: 1e-12)
        XCTAssertLessThanOrEqual(expected.scorer, expected.oracle + 1e-12, "nothing ranks the labels' own rewards better")
        XCTAssertTrue(report.text.contains("expected over the labels' draw"))
    }
}
