import Autograd
import Datasets
import Files
import Foundation
import Kernels
import NN
import ShapesWorld

/// Episodic training of the few-shot user encoder on the training users' pairs (held-out users' splits
/// are never read for training).
///
/// One step = U distinct users drawn uniformly; for each, K support pairs (non-tie) and Q other query
/// pairs of the same user; one ψ batch over all their images; `FewShotPreferenceLoss`; AdamW. Everything
/// random comes from one seeded counter-based stream saved in the checkpoint, so a resumed run follows
/// the same trajectory.
///
/// The output directory is itself a user encoder folder (config.json, model.safetensors) plus
/// training_config.json, metrics.jsonl, checkpoint/, evaluation.json/.md (held-out users) and README.md.
public final class UserEncoderTrainer {
    public struct Metrics: StepMetrics, Sendable {
        public var step: Int
        public var loss: Double
        /// Share of non-tie episode queries predicted right (training episodes).
        public var accuracy: Double?
        /// s of the logit.
        public var scale: Double
        public var lr: Double
        public var gradNorm: Double
        public var seconds: Double
        /// Few-shot and population-only accuracy on the training users' validation pairs, when measured.
        public var validationFewShot: Double?
        public var validationPopulation: Double?
    }

    struct RunState: Codable {
        var config: UserEncoderTrainingConfig
        var dataset: String
    }

    public let encoder: UserEncoder
    public let config: UserEncoderTrainingConfig
    public let train: UserPairIndex
    public let validation: UserPairIndex?
    public let outDirectory: URL
    /// Users with at least K non-tie pairs and K + Q pairs in all.
    public let episodeUsers: [Int]

    /// `train`: the training split (ties may be kept: they serve as ½/½ queries); `validation`: optional
    /// pairs of the same users for monitoring.
    public init(config: UserEncoderTrainingConfig, train: PairDataset, validation: PairDataset? = nil, outDirectory: String) throws {
        try config.validate()
        var rng = RNG(seed: config.seed, stream: 0x5545_4E43)
        encoder = try UserEncoder(config: config.encoder, rng: &rng)
        self.config = config
        let index = try UserPairIndex(dataset: train)
        self.train = index
        self.validation = try validation.map(UserPairIndex.init)
        self.outDirectory = URL(fileURLWithPath: outDirectory)
        let k = config.encoder.shots, q = config.queries
        episodeUsers = index.users.filter {
            (index.supportPairsByUser[$0]?.count ?? 0) >= k && (index.pairsByUser[$0]?.count ?? 0) >= k + q
        }
        guard episodeUsers.count >= config.usersPerEpisode else {
            throw PersonalizationError.invalidSetting(
                flag: "--users-per-episode",
                reason: "is \(config.usersPerEpisode) but only \(episodeUsers.count) user(s) of \(train.file) have K + Q = \(k + q) pairs (K non-tie); lower it, --shots or --queries")
        }
    }

    var checkpointPath: String { outDirectory.appendingPathComponent("checkpoint").path }
    var metricsPath: String { outDirectory.appendingPathComponent("metrics.jsonl").path }
    var trainingConfigPath: String { outDirectory.appendingPathComponent("training_config.json").path }

    /// One episode batch: the images [U·(2K + 2Q), 3, S, S] laid out per user as (support winners,
    /// support losers, query firsts, query seconds), and the query targets.
    public func episode(rng: inout RNG) throws -> (images: Tensor, targets: [Float]) {
        let k = config.encoder.shots, q = config.queries, s = config.encoder.sampleSize
        let users = UserPairIndex.draw(config.usersPerEpisode, from: episodeUsers, rng: &rng)
        var pairs: [Int] = [], targets: [Float] = []
        for user in users {
            let support = try train.drawSupport(user: user, shots: k, rng: &rng)
            let rest = try train.pairs(of: user).filter { !support.contains($0) }
            let queries = UserPairIndex.draw(q, from: rest, rng: &rng)
            pairs += support + queries
            targets += queries.map { train.isTie[$0] ? 0.5 : 1 }
        }
        let loaded = try PairImages.load(train.dataset, pairs: pairs, resolution: s)
        let stride = 3 * s * s, per = 2 * (k + q)
        let images = Tensor.uninitialized([users.count * per, 3, s, s])
        for u in 0..<users.count {
            let base = u * (k + q)
            // Rows of this user: K support winners, K support losers, Q query winners, Q query losers.
            let sources: [(Tensor, Range<Int>)] = [(loaded.winners, base..<(base + k)), (loaded.losers, base..<(base + k)),
                                                   (loaded.winners, (base + k)..<(base + k + q)), (loaded.losers, (base + k)..<(base + k + q))]
            var row = u * per
            for (tensor, range) in sources {
                (images.data + row * stride).update(from: tensor.data + range.lowerBound * stride, count: range.count * stride)
                row += range.count
            }
        }
        return (images, targets)
    }

    /// The episode loss of a batch made by `episode`.
    public func loss(images: Tensor, targets: [Float]) throws -> FewShotPreferenceLoss.Output {
        let k = config.encoder.shots, q = config.queries, u = config.usersPerEpisode, e = config.encoder.embeddingDim
        let f = try encoder.features(images).reshaped([u, 2 * (k + q), e])
        let parts = split(f, sizes: [k, k, q, q], axis: 1)
        return try FewShotPreferenceLoss.loss(supportDifferences: parts[0] - parts[1], queryDifferences: parts[2] - parts[3],
                                              targets: targets, logScale: encoder.logitScale)
    }

    /// Trains to `config.steps` (resuming from a checkpoint when there is one), then writes the encoder.
    /// Returns false when interrupted (a checkpoint was saved first).
    @discardableResult
    public func run(log: (String) -> Void = { print($0) }) throws -> Bool {
        encoder.setRequiresGrad(true)
        let optimizer = AdamW(namedParameters: encoder.namedParameters(),
                              hyperparameters: .init(lr: config.learningRate, weightDecay: config.weightDecay))
        let schedule = try LRSchedule(name: config.lrSchedule, baseLR: config.learningRate,
                                      warmupSteps: config.warmupSteps, totalSteps: config.steps)
        var rngs = ["episodes": RNG(seed: config.seed, stream: 21)]
        var step = 0
        if TrainingCheckpoint<RunState>.exists(at: checkpointPath) {
            let ckpt = try TrainingCheckpoint<RunState>.load(from: checkpointPath)
            var mine = config, theirs = ckpt.training.config
            mine.steps = 0; theirs.steps = 0
            guard mine == theirs else {
                throw PersonalizationError.invalidSetting(flag: "--out", reason: "\(checkpointPath) was written with different settings; resume with the same flags (see \(trainingConfigPath)) or choose a new --out")
            }
            try ckpt.restore(model: encoder, optimizer: optimizer)
            rngs = ckpt.rngs
            step = ckpt.step
            try MetricsFile.truncate(metricsPath, after: step, as: Metrics.self)
            log("resuming \(outDirectory.path) from step \(step)")
        } else {
            try AtomicFile.write(JSONFormat.pretty.encode(config), to: trainingConfigPath)
            try? FileManager.default.removeItem(atPath: metricsPath)
        }
        let save = { (at: Int) in
            try TrainingCheckpoint(step: at, model: self.encoder, optimizer: optimizer, rngs: rngs, schedule: schedule,
                                   training: RunState(config: self.config, dataset: self.train.dataset.file))
                .save(to: self.checkpointPath)
        }
        let params = encoder.parameters()
        var progress = ProgressLine(total: config.steps, label: "user encoder", startStep: step)
        let start = Date()
        while step < config.steps {
            if InterruptFlag.shared.isRaised {
                try save(step)
                log("saved \(checkpointPath) at step \(step); run the same command again to resume")
                return false
            }
            optimizer.zeroGrad()
            let batch = try episode(rng: &rngs["episodes", default: RNG(seed: config.seed, stream: 21)])
            let out = try loss(images: batch.images, targets: batch.targets)
            out.loss.backward()
            let norm = clipGradNorm(params, maxNorm: Float(config.maxGradNorm))
            optimizer.lr = schedule.lr(at: step)
            optimizer.step()
            step += 1

            var m = Metrics(step: step, loss: Double(out.loss.item()), accuracy: out.accuracy, scale: Double(encoder.scale),
                            lr: optimizer.lr, gradNorm: Double(norm), seconds: Date().timeIntervalSince(start))
            guard m.loss.isFinite else {
                throw PersonalizationError.invalidSetting(flag: "--lr", reason: "is too high: the episode loss diverged at step \(step)")
            }
            if let validation, config.evalEvery > 0, step % config.evalEvery == 0 || step == config.steps {
                let report = try validationReport(validation)
                m.validationFewShot = report.fewShot
                m.validationPopulation = report.population
            }
            try JSONLines.append(m, to: metricsPath)
            var shown: [(String, Double)] = [("loss", m.loss), ("acc", m.accuracy ?? .nan), ("s", m.scale)]
            if let v = m.validationFewShot { shown.append(("val", v)) }
            progress.update(step: step, values: shown, force: m.validationFewShot != nil)
            if step % config.checkpointEvery == 0 || step == config.steps { try save(step) }
        }
        try encoder.save(to: outDirectory.path)
        return true
    }

    /// Few-shot accuracy on the validation pairs of the episode users (support from the training split).
    func validationReport(_ validation: UserPairIndex) throws -> FewShotAccuracyReport {
        let users = episodeUsers.filter { validation.supportPairsByUser[$0]?.isEmpty == false }
        let population = try FewShotAccuracy.populationPrototype(encoder: encoder, index: train, maxPairs: 512)
        return try FewShotAccuracy.evaluate(encoder: encoder, support: train, queries: validation, population: population,
                                            users: users, draws: config.evalDraws, seed: config.seed, maxQueriesPerUser: 40)
    }

    /// The held-out evaluation: new users' K support pairs from `support`, their `queries` predicted.
    /// Writes evaluation.json and evaluation.md into the output directory.
    public func evaluateHeldOut(support: PairDataset, queries: PairDataset, simulatedUsers: [SimulatedUser]?) throws -> FewShotAccuracyReport {
        let population = try FewShotAccuracy.populationPrototype(encoder: encoder, index: train)
        let report = try FewShotAccuracy.evaluate(encoder: encoder, support: UserPairIndex(dataset: support),
                                                  queries: UserPairIndex(dataset: queries), population: population,
                                                  draws: config.evalDraws, seed: config.seed, simulatedUsers: simulatedUsers)
        try AtomicFile.write(JSONFormat.pretty.encode(report), to: outDirectory.appendingPathComponent("evaluation.json").path)
        try AtomicFile.write("# Few-shot user encoder: held-out users\n\n" + report.headline + "\n\nPopulation-only embedding: "
                             + report.populationSource + "\n\n" + report.markdown + "\n",
                             to: outDirectory.appendingPathComponent("evaluation.md").path)
        return report
    }
}
