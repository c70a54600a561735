import Autograd
import Datasets
import Files
import Foundation
import Kernels
import NN
import Preference
import XCTest

final class PersonalizationEncoderTests: XCTestCase {
    func testEncoderShapesAndDeterminism() throws {
        let a = try PersonalizationWorld.encoder(seed: 5), b = try PersonalizationWorld.encoder(seed: 5)
        var rng = RNG(seed: 2)
        let r = PersonalizationWorld.resolution
        let x = Tensor.rand([3, 3, r, r], rng: &rng, low: -1, high: 1)
        let fa = try a.features(x)
        XCTAssertEqual(fa.shape, [3, 3])
        XCTAssertEqual(fa.toArray(), try b.features(x).toArray(), "same seed, same network, same features")
        // One image alone gets the same features as inside a batch.
        let single = try a.features(Tensor(shape: [1, 3, r, r], data: Array(x.toArray()[0..<(3 * r * r)])))
        for (p, q) in zip(single.toArray(), fa.toArray()[0..<3]) { XCTAssertEqual(p, q, accuracy: 1e-5) }
        let names = Set(a.namedParameters().map(\.0))
        XCTAssertTrue(names.isSuperset(of: ["alpha", "prior_mean", "prior_covariance", "proj_out.weight"]), "\(names)")
        XCTAssertFalse(a.tasteParameters.map(\.0).contains("prior_mean"), "the prior is not trained by gradient")
        XCTAssertThrowsError(try a.features(Tensor(zeros: [1, 3, r + 1, r + 1]))) { error in
            XCTAssertTrue("\(error)".contains("[N, 3, \(r), \(r)]"), "\(error)")
        }
        // The stored default prior is the standard normal with α = 1.
        XCTAssertEqual(try a.prior(), try UserPrior(alpha: 1, mean: [0, 0, 0], covariance: [1, 0, 0, 0, 1, 0, 0, 0, 1]))
    }

    func testTasteGradientsMatchFiniteDifferences() throws {
        // ψ's pooled head (both 2×2 pools, coordinate planes) is differentiated end to end by autograd.
        let encoder = try PersonalizationWorld.encoder(seed: 6)
        var rng = RNG(seed: 7)
        let r = PersonalizationWorld.resolution
        let x = Tensor.rand([2, 3, r, r], rng: &rng, low: -1, high: 1)
        let result = GradientCheck.run([x], epsilon: 1e-2) { inputs in
            // swiftlint:disable:next force_try
            sum(try! encoder.features(inputs[0]) * Tensor(shape: [2, 3], data: [1, -2, 0.5, 0.3, 1, -1]))
        }
        XCTAssertLessThan(result.maxError, 2e-2, "\(result)")
    }

    func testFolderRoundTripAndBadFolders() throws {
        let encoder = try PersonalizationWorld.encoder(seed: 8)
        encoder.setPrior(try UserPrior(alpha: 0.5, mean: [1, 2, 3], covariance: [2, 0.5, 0, 0.5, 1, 0, 0, 0, 3]))
        let dir = PersonalizationWorld.temporaryDirectory("enc")
        try encoder.save(to: dir)
        let loaded = try UserEncoder.load(from: dir)
        XCTAssertEqual(loaded.config, encoder.config)
        XCTAssertEqual(try loaded.prior(), try encoder.prior())
        for (name, t) in encoder.stateDict() { XCTAssertEqual(loaded.stateDict()[name]?.toArray(), t.toArray(), name) }
        XCTAssertEqual(loaded.scorer?.weightsFingerprint, encoder.scorer?.weightsFingerprint, "the frozen scorer travels with ψ")
        XCTAssertThrowsError(try UserEncoder.load(from: dir + "-missing")) { error in
            XCTAssertTrue("\(error)".contains("config.json") && "\(error)".contains("user-encoder train"), "\(error)")
        }
        // No scorer copy: the error names the scorer folder.
        try FileManager.default.removeItem(atPath: dir + "/scorer")
        XCTAssertThrowsError(try UserEncoder.load(from: dir)) { error in
            XCTAssertTrue("\(error)".contains("/scorer") && "\(error)".contains("frozen scorer"), "\(error)")
        }
        // A covariance that is not positive definite is a damaged file, not a crash later.
        try encoder.save(to: dir)
        var tensors = try SafeTensors.read(dir + "/model.safetensors").tensors
        tensors["prior_covariance"] = Tensor(shape: [3, 3], data: [1, 2, 0, 2, 1, 0, 0, 0, 1])
        try SafeTensors.write(tensors, to: dir + "/model.safetensors")
        XCTAssertThrowsError(try UserEncoder.load(from: dir)) { error in
            XCTAssertTrue("\(error)".contains("model.safetensors") && "\(error)".contains("positive definite"), "\(error)")
        }
    }

    func testScorerOfAnotherResolutionIsRejected() throws {
        var config = PersonalizationWorld.encoderConfig()
        config.sampleSize = 16
        var rng = RNG(seed: 1)
        XCTAssertThrowsError(try UserEncoder(config: config, scorer: PersonalizationWorld.scorer(), rng: &rng)) { error in
            XCTAssertTrue("\(error)".contains("sample_size") && "\(error)".contains("8×8"), "\(error)")
        }
    }

    private func trainerConfig(epochs: Int, scorer: String) -> UserEncoderTrainingConfig {
        var c = UserEncoderTrainingConfig()
        c.encoder = PersonalizationWorld.encoderConfig(shots: 2)
        c.scorer = scorer
        c.epochs = epochs
        c.batchSize = 16
        c.learningRate = 1e-2
        c.checkpointEvery = 2
        c.evalDraws = 3
        return c
    }

    private static let trainingUsers: [(user: Int, taste: PersonalizationWorld.Taste, pairs: Int)] =
        [(1, .bright, 10), (2, .dark, 10), (3, .bright, 10), (4, .dark, 10), (5, .bright, 10), (6, .dark, 10)]

    func testTrainingLearnsHeldOutUsersFromKPairs() throws {
        // Held-out users 7 (likes bright) and 8 (likes dark) are never trained on: 2 pairs each must reveal
        // their taste, which the shared scorer (one ranking for everybody) cannot serve both.
        let data = try PersonalizationWorld.dataset([
            "train": Self.trainingUsers,
            "heldout_train": [(7, .bright, 4), (8, .dark, 4)],
            "heldout_validation": [(7, .bright, 8), (8, .dark, 8)],
        ])
        let options = PairDatasetOptions(keepTies: true, resolution: PersonalizationWorld.resolution)
        let out = PersonalizationWorld.temporaryDirectory("enc-run")
        let trainer = try UserEncoderTrainer(config: trainerConfig(epochs: 60, scorer: PersonalizationWorld.scorerFolder()),
                                             train: PairDataset(directory: data, options: options), users: [1, 2, 3, 4, 5, 6],
                                             outDirectory: out, log: { _ in })
        XCTAssertEqual(trainer.totalSteps, 240)
        XCTAssertTrue(try trainer.run(log: { _ in }))
        let report = try trainer.evaluateHeldOut(support: PairDataset(directory: data, split: "heldout_train", options: options),
                                                 queries: PairDataset(directory: data, split: "heldout_validation", options: options),
                                                 simulatedUsers: nil)
        XCTAssertEqual(report.queries, 16)
        XCTAssertGreaterThanOrEqual(report.informativeShots, 0.9, report.markdown)
        XCTAssertGreaterThanOrEqual(report.randomShots, 0.9, report.markdown)
        XCTAssertLessThanOrEqual(min(report.users[0].scorerAlone, report.users[1].scorerAlone), 0.5,
                                 "one ranking cannot serve two users of opposite tastes: \(report.markdown)")
        let metrics = try JSONLines.read(UserEncoderTrainer.Metrics.self, from: out + "/metrics.jsonl").map(\.value)
        XCTAssertEqual(metrics.count, 240)
        XCTAssertLessThan(metrics.suffix(4).map(\.loss).reduce(0, +), metrics.prefix(4).map(\.loss).reduce(0, +))
        // The output is a loadable encoder folder whose prior comes from the six fitted users; a held-out user's
        // embedding from K = 2 of their pairs lies nearer the training users of the same taste.
        let loaded = try UserEncoder.load(from: out)
        XCTAssertEqual(loaded.config, trainer.config.encoder)
        let fitted = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/user_weights.json"))) as? [[String: Any]]
        let weights = (fitted ?? []).compactMap { $0["weights"] as? [Double] }
        XCTAssertEqual(weights.count, 6)
        let prior = try loaded.prior()
        func centroid(_ rows: [Int]) -> [Float] {
            let u = rows.map { prior.embedding(weights: weights[$0]) }
            return (0..<3).map { i in u.map { $0[i] }.reduce(0, +) / Float(rows.count) }
        }
        let bright = centroid([0, 2, 4]), dark = centroid([1, 3, 5])
        func distance(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) }
        var moved: Float = 0
        for (user, likesBright) in [(7, true), (8, false)] {
            let examples = try UserExamples.fromDataset(directory: data, splits: ["heldout_train"], user: user, shots: 2,
                                                        resolution: PersonalizationWorld.resolution)
            let u = try UserConditioning.embedding(examples, encoder: loaded, shots: 2).toArray()
            // Never nearer the other taste. (In this toy world ψ's features saturate, so pairs the prior mean
            // already predicts with certainty move the estimate by ~0: a user may stay at μ, equidistant.)
            let (mine, other) = likesBright ? (bright, dark) : (dark, bright)
            XCTAssertLessThanOrEqual(distance(u, mine), distance(u, other) + 1e-6, "user \(user): \(u), bright \(bright), dark \(dark)")
            moved += distance(u, [0, 0, 0])
        }
        XCTAssertGreaterThan(moved, 0.01, "at least one held-out user's pairs move the estimate away from the average user")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/evaluation.md"))
    }

    func testTrainingResumesExactly() throws {
        let data = try PersonalizationWorld.dataset(["train": Self.trainingUsers])
        let options = PairDatasetOptions(keepTies: true, resolution: PersonalizationWorld.resolution)
        let scorer = try PersonalizationWorld.scorerFolder()
        func run(_ epochs: Int, _ dir: String, interruptAfter: Int? = nil) throws -> UserEncoderTrainer {
            var config = trainerConfig(epochs: epochs, scorer: scorer)
            config.checkpointEvery = 1
            let t = try UserEncoderTrainer(config: config, train: PairDataset(directory: data, options: options),
                                           users: [1, 2, 3, 4, 5, 6], outDirectory: dir, log: { _ in })
            // `stopAfter` ends the run the way Ctrl-C does: a checkpoint is saved and run returns false.
            XCTAssertEqual(try t.run(log: { _ in }, stopAfter: interruptAfter), interruptAfter == nil)
            return t
        }
        let whole = PersonalizationWorld.temporaryDirectory("enc-whole"), split = PersonalizationWorld.temporaryDirectory("enc-split")
        let a = try run(2, whole)
        _ = try run(2, split, interruptAfter: 3)
        let b = try run(2, split)
        func losses(_ dir: String) throws -> [Double] {
            try JSONLines.read(UserEncoderTrainer.Metrics.self, from: dir + "/metrics.jsonl").map(\.value.loss)
        }
        XCTAssertEqual(try losses(whole).count, 8)
        XCTAssertEqual(try losses(whole), try losses(split))
        for (name, t) in a.encoder.stateDict() { XCTAssertTrue(b.encoder.stateDict()[name]?.toArray() == t.toArray(), name) }
        XCTAssertEqual(a.table.toArray(), b.table.toArray())
    }

    func testBadTrainingInputIsAClearError() throws {
        let data = try PersonalizationWorld.dataset(["train": [(1, .bright, 10), (2, .dark, 3)]])
        let options = PairDatasetOptions(resolution: PersonalizationWorld.resolution)
        let scorer = try PersonalizationWorld.scorerFolder()
        let out = PersonalizationWorld.temporaryDirectory("enc-bad")
        XCTAssertThrowsError(try UserEncoderTrainer(config: trainerConfig(epochs: 1, scorer: scorer), train: PairDataset(directory: data, options: options),
                                                    users: [1, 9], outDirectory: out, log: { _ in })) { error in
            XCTAssertTrue("\(error)".contains("9") && "\(error)".contains("train.jsonl"), "\(error)")
        }
        XCTAssertThrowsError(try UserEncoderTrainer(config: trainerConfig(epochs: 1, scorer: scorer), train: PairDataset(directory: data, options: options),
                                                    users: [1], outDirectory: out, log: { _ in })) { error in
            XCTAssertTrue("\(error)".contains("--users") && "\(error)".contains("at least 2"), "\(error)")
        }
        XCTAssertThrowsError(try UserEncoderTrainer(config: trainerConfig(epochs: 1, scorer: scorer + "-missing"),
                                                    train: PairDataset(directory: data, options: options),
                                                    users: [1, 2], outDirectory: out, log: { _ in })) { error in
            XCTAssertTrue("\(error)".contains("--scorer"), "\(error)")
        }
    }

    func testTrainingSettingsNameTheirFlag() {
        let cases: [(String, (inout UserEncoderTrainingConfig) -> Void)] = [
            ("--epochs", { $0.epochs = 0 }), ("--batch-size", { $0.batchSize = 0 }), ("--lr", { $0.learningRate = -1 }),
            ("--table-init-std", { $0.tableInitStd = -0.5 }), ("--table-l2", { $0.tableL2 = .nan }),
            ("--checkpoint-every", { $0.checkpointEvery = 0 }), ("--eval-draws", { $0.evalDraws = 0 }),
            ("--scorer", { $0.scorer = "" }), ("--users", { $0.users = [3] }), ("shots", { $0.encoder.shots = 0 }),
        ]
        for (flag, change) in cases {
            var c = UserEncoderTrainingConfig()
            change(&c)
            XCTAssertThrowsError(try c.validate(), flag) { XCTAssertTrue("\($0)".contains(flag), "\(flag): \($0)") }
        }
        XCTAssertNoThrow(try UserEncoderTrainingConfig().validate())
    }
}
