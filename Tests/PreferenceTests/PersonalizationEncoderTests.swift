import Autograd
import Datasets
import Files
import Foundation
import Kernels
import NN
import Preference
import XCTest

final class PersonalizationEncoderTests: XCTestCase {
    func testL2NormalizeMatchesTorch() {
        // torch.nn.functional.normalize(torch.tensor([[3., 4., 0.], [1., -2., 2.]], dtype=torch.float64), dim=-1)
        // → [[0.6, 0.8, 0.0], [0.3333333, -0.6666667, 0.6666667]]
        let y = l2Normalized(Tensor(shape: [2, 3], data: [3, 4, 0, 1, -2, 2]))
        let expected: [Float] = [0.6, 0.8, 0, 0.3333333, -0.6666667, 0.6666667]
        for (a, b) in zip(y.toArray(), expected) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        // A zero row stays zero (divided by eps, not by 0).
        XCTAssertEqual(l2Normalized(Tensor(zeros: [1, 3])).toArray(), [0, 0, 0])
    }

    func testL2NormalizeGradient() {
        var rng = RNG(seed: 3)
        let x = Tensor.randn([3, 5], rng: &rng)
        let result = GradientCheck.run([x], epsilon: 1e-3) { l2Normalized($0[0]) }
        XCTAssertLessThan(result.maxError, 1e-2, "\(result)")
    }

    func testEncoderShapesAndDeterminism() throws {
        let a = try PersonalizationWorld.encoder(seed: 5), b = try PersonalizationWorld.encoder(seed: 5)
        var rng = RNG(seed: 2)
        let r = PersonalizationWorld.resolution
        let x = Tensor.rand([3, 3, r, r], rng: &rng, low: -1, high: 1)
        let fa = try a.features(x)
        XCTAssertEqual(fa.shape, [3, 6])
        XCTAssertEqual(fa.toArray(), try b.features(x).toArray(), "same seed, same network, same features")
        XCTAssertEqual(fa.toArray(), try a.features(x).toArray(), "features are deterministic")
        // One image alone gets the same features as inside a batch.
        let single = try a.features(Tensor(shape: [1, 3, r, r], data: Array(x.toArray()[0..<(3 * r * r)])))
        for (p, q) in zip(single.toArray(), fa.toArray()[0..<6]) { XCTAssertEqual(p, q, accuracy: 1e-5) }
        XCTAssertEqual(a.scale, 10, accuracy: 1e-4, "initial logit scale")
        XCTAssertTrue(a.namedParameters().map(\.0).contains("logit_scale"))
        XCTAssertThrowsError(try a.features(Tensor(zeros: [1, 3, r + 1, r + 1]))) { error in
            XCTAssertTrue("\(error)".contains("[N, 3, \(r), \(r)]"), "\(error)")
        }
    }

    func testEmbeddingIsUnitLengthAndIndependentOfPairOrder() throws {
        let encoder = try PersonalizationWorld.encoder()
        var rng = RNG(seed: 4)
        let r = PersonalizationWorld.resolution, k = 4
        let w = Tensor.rand([k, 3, r, r], rng: &rng, low: -1, high: 1), l = Tensor.rand([k, 3, r, r], rng: &rng, low: -1, high: 1)
        let u = try GradMode.withoutGrad { try encoder.embedding(winners: w, losers: l) }
        XCTAssertEqual(u.shape, [6])
        XCTAssertEqual(u.toArray().reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-5)
        let order = [2, 0, 3, 1]
        func permuted(_ t: Tensor) -> Tensor {
            let n = 3 * r * r, v = t.toArray()
            return Tensor(shape: t.shape, data: order.flatMap { v[($0 * n)..<(($0 + 1) * n)] })
        }
        let v = try GradMode.withoutGrad { try encoder.embedding(winners: permuted(w), losers: permuted(l)) }
        for (a, b) in zip(u.toArray(), v.toArray()) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        // Swapping winners and losers flips the user's direction.
        let flipped = try GradMode.withoutGrad { try encoder.embedding(winners: l, losers: w) }
        for (a, b) in zip(u.toArray(), flipped.toArray()) { XCTAssertEqual(a, -b, accuracy: 1e-6) }
    }

    /// The hand-made episode of the loss test: U = 2 users, K = 2, Q = 2, D = 3.
    private func episode() -> (Tensor, Tensor, [Float], Tensor) {
        let support = Tensor(shape: [2, 2, 3], data: [1, 0, 0.5, 0.5, 1, -0.5, -1, 2, 0, 0, 1, 1])
        let queries = Tensor(shape: [2, 2, 3], data: [0.2, -0.1, 0.3, 1, 1, 0, -0.5, 0.5, 0.2, 0.3, -0.4, 0.1])
        return (support, queries, [1, 0.5, 0, 1], Tensor(shape: [1], data: [Foundation.log(2)]))
    }

    func testEpisodeLossMatchesTorch() throws {
        // S, Q as above (float64); y = [1, .5, 0, 1]; ls = log(2)
        // u = F.normalize(S.mean(1), dim=-1); z = (u[:, None, :] * Q).sum(-1).reshape(-1) * ls.exp()
        // (y * F.softplus(-z) + (1 - y) * F.softplus(z)).mean()
        // → z = [0.2218801, 2.7735010, 1.3266499, -0.8442318], loss = 1.1998769
        let (s, q, y, ls) = episode()
        let out = try FewShotPreferenceLoss.loss(supportDifferences: s, queryDifferences: q, targets: y, logScale: ls)
        XCTAssertEqual(out.loss.item(), 1.1998769, accuracy: 1e-5)
        for (a, b) in zip(out.logits, [0.2218801, 2.7735010, 1.3266499, -0.8442318] as [Float]) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        // Non-tie queries: 0 right (z > 0, first preferred), 2 wrong (z > 0, second preferred), 3 wrong.
        XCTAssertEqual(out.accuracy ?? -1, 1.0 / 3, accuracy: 1e-12)
    }

    func testEpisodeLossGradient() throws {
        let (s, q, y, ls) = episode()
        let result = GradientCheck.run([s, q, ls], epsilon: 1e-3) { inputs in
            // swiftlint:disable:next force_try
            try! FewShotPreferenceLoss.loss(supportDifferences: inputs[0], queryDifferences: inputs[1], targets: y, logScale: inputs[2]).loss
        }
        XCTAssertLessThan(result.maxError, 1e-2, "\(result)")
    }

    func testEpisodeLossRejectsBadInput() {
        let (s, q, _, ls) = episode()
        XCTAssertThrowsError(try FewShotPreferenceLoss.loss(supportDifferences: s, queryDifferences: q, targets: [1, 1, 1], logScale: ls)) {
            XCTAssertTrue("\($0)".contains("3 targets for 2×2 queries"), "\($0)")
        }
        XCTAssertThrowsError(try FewShotPreferenceLoss.loss(supportDifferences: s, queryDifferences: q, targets: [1, 0.3, 0, 1], logScale: ls))
        XCTAssertThrowsError(try FewShotPreferenceLoss.loss(supportDifferences: Tensor(zeros: [2, 3]), queryDifferences: q,
                                                            targets: [1, 1, 1, 1], logScale: ls))
    }

    func testFolderRoundTripAndMissingFolder() throws {
        let encoder = try PersonalizationWorld.encoder(seed: 8)
        let dir = PersonalizationWorld.temporaryDirectory("enc")
        try encoder.save(to: dir)
        let loaded = try UserEncoder.load(from: dir)
        XCTAssertEqual(loaded.config, encoder.config)
        for (name, t) in encoder.stateDict() { XCTAssertEqual(loaded.stateDict()[name]?.toArray(), t.toArray(), name) }
        XCTAssertThrowsError(try UserEncoder.load(from: dir + "-missing")) { error in
            XCTAssertTrue("\(error)".contains("config.json") && "\(error)".contains("user-encoder train"), "\(error)")
        }
    }

    private func trainerConfig(steps: Int) -> UserEncoderTrainingConfig {
        var c = UserEncoderTrainingConfig()
        c.encoder = PersonalizationWorld.encoderConfig(shots: 2)
        c.steps = steps
        c.usersPerEpisode = 4
        c.queries = 4
        c.learningRate = 3e-3
        c.lrSchedule = "constant"  // the resume test stops at a different --steps; cosine would depend on it
        c.warmupSteps = 0
        c.checkpointEvery = 2
        c.evalEvery = 0
        c.evalDraws = 3
        return c
    }

    private static let trainingUsers: [(user: Int, taste: PersonalizationWorld.Taste, pairs: Int)] =
        [(1, .bright, 10), (2, .dark, 10), (3, .bright, 10), (4, .dark, 10), (5, .bright, 10), (6, .dark, 10)]

    func testEpisodicTrainingLearnsHeldOutUsersFromKPairs() throws {
        // Held-out users 7 (likes bright) and 8 (likes dark) are never trained on: 2 pairs each must reveal
        // their taste, which one population-wide embedding cannot serve both.
        let data = try PersonalizationWorld.dataset([
            "train": Self.trainingUsers,
            "heldout_train": [(7, .bright, 4), (8, .dark, 4)],
            "heldout_validation": [(7, .bright, 8), (8, .dark, 8)],
        ])
        let options = PairDatasetOptions(keepTies: true, resolution: PersonalizationWorld.resolution)
        let out = PersonalizationWorld.temporaryDirectory("enc-run")
        let trainer = try UserEncoderTrainer(config: trainerConfig(steps: 40), train: PairDataset(directory: data, options: options),
                                             outDirectory: out)
        XCTAssertTrue(try trainer.run(log: { _ in }))
        let report = try trainer.evaluateHeldOut(support: PairDataset(directory: data, split: "heldout_train", options: options),
                                                 queries: PairDataset(directory: data, split: "heldout_validation", options: options),
                                                 simulatedUsers: nil)
        XCTAssertEqual(report.queries, 16)
        XCTAssertGreaterThanOrEqual(report.fewShot, 0.9, report.markdown)
        XCTAssertLessThan(report.population, 0.8, "one direction cannot serve two users of opposite tastes")
        let metrics = try JSONLines.read(UserEncoderTrainer.Metrics.self, from: out + "/metrics.jsonl").map(\.value)
        XCTAssertEqual(metrics.count, 40)
        XCTAssertLessThan(metrics.suffix(5).map(\.loss).reduce(0, +), metrics.prefix(5).map(\.loss).reduce(0, +))
        // The output is a loadable encoder folder with the held-out report.
        XCTAssertEqual(try UserEncoder.load(from: out).config, trainer.config.encoder)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/evaluation.md"))
    }

    func testEncoderTrainingResumesExactly() throws {
        let data = try PersonalizationWorld.dataset(["train": Self.trainingUsers])
        let options = PairDatasetOptions(keepTies: true, resolution: PersonalizationWorld.resolution)
        func run(_ steps: Int, _ dir: String) throws -> UserEncoderTrainer {
            let t = try UserEncoderTrainer(config: trainerConfig(steps: steps), train: PairDataset(directory: data, options: options),
                                           outDirectory: dir)
            try t.run(log: { _ in })
            return t
        }
        let whole = PersonalizationWorld.temporaryDirectory("enc-whole"), split = PersonalizationWorld.temporaryDirectory("enc-split")
        let a = try run(4, whole)
        _ = try run(2, split)
        let b = try run(4, split)
        func losses(_ dir: String) throws -> [Double] {
            try JSONLines.read(UserEncoderTrainer.Metrics.self, from: dir + "/metrics.jsonl").map(\.value.loss)
        }
        XCTAssertEqual(try losses(whole), try losses(split))
        for (name, t) in a.encoder.stateDict() { XCTAssertTrue(b.encoder.stateDict()[name]?.toArray() == t.toArray(), name) }
    }

    func testTooFewUsersForAnEpisodeIsAClearError() throws {
        let data = try PersonalizationWorld.dataset(["train": [(1, .bright, 10), (2, .dark, 3)]])
        let options = PairDatasetOptions(resolution: PersonalizationWorld.resolution)
        XCTAssertThrowsError(try UserEncoderTrainer(config: trainerConfig(steps: 1), train: PairDataset(directory: data, options: options),
                                                    outDirectory: PersonalizationWorld.temporaryDirectory("enc-bad"))) { error in
            XCTAssertTrue("\(error)".contains("--users-per-episode") && "\(error)".contains("only 1 user"), "\(error)")
        }
    }
}
