import Autograd
import Datasets
import Files
import Foundation
import Kernels
import NN
import Scoring
import ShapesWorld

/// Trains the user model's taste network ψ on many training users at once (held-out users' splits are
/// never read for training).
///
/// Every training user u gets a row w_u of a table, and ψ, α and the table are fitted jointly to the
/// Bradley–Terry likelihood of all their pairs over the frozen scorer's Δs (ties as ½/½):
///
///     z = α·Δs + ⟨w_u, ψ(x_w) − ψ(x_l)⟩,   loss = mean[y·softplus(−z) + (1 − y)·softplus(z)] + λ·mean_u ‖w_u‖²
///
/// At the end the table's rows give the prior N(μ, Σ) of a new user's weights (`UserPrior`), and the table
/// itself is dropped: a new user is estimated from their K pairs. Batches follow a per-epoch permutation
/// derived from the seed, so a resumed run sees exactly the batches of an uninterrupted one.
///
/// The output directory is a user encoder folder (config.json, model.safetensors, scorer/) plus
/// training_config.json, metrics.jsonl, user_weights.json, checkpoint/ and evaluation.json/.md.
public final class UserEncoderTrainer {
    public struct Metrics: StepMetrics, Sendable {
        public var step: Int
        public var epoch: Int
        public var loss: Double
        /// Share of the batch's non-tie pairs whose label the sign of z predicts.
        public var accuracy: Double?
        public var alpha: Double
        public var lr: Double
        public var seconds: Double
    }

    struct RunState: Codable {
        var config: UserEncoderTrainingConfig
        var dataset: String
        var users: [Int]
    }

    public let encoder: UserEncoder
    public let config: UserEncoderTrainingConfig
    public let dataset: PairDataset
    /// The table's users in row order.
    public let users: [Int]
    public let outDirectory: URL
    /// Per training pair: winner and loser images [N, 3, S, S], the scorer's Δs, the table row, the target.
    let winners: Tensor, losers: Tensor
    let scoreDifferences: [Float]
    let rows: [Int32]
    let targets: [Float]
    /// w_u, [users, D].
    public let table: Tensor

    public var pairCount: Int { targets.count }
    public var stepsPerEpoch: Int { (pairCount + config.batchSize - 1) / config.batchSize }
    public var totalSteps: Int { config.epochs * stepsPerEpoch }

    /// `train` keeps ties (they are ½/½ pairs). `users`: the table's users (pairs of other users are skipped).
    public init(config: UserEncoderTrainingConfig, train: PairDataset, users: [Int], outDirectory: String,
                log: (String) -> Void = { print($0) }) throws {
        try config.validate()
        let scorer: PreferenceScorer
        do { scorer = try PreferenceScorer.load(from: config.scorer) } catch {
            throw PersonalizationError.invalidSetting(flag: "--scorer", reason: "\(error)")
        }
        var rng = RNG(seed: config.seed, stream: 0x5545_4E43)
        encoder = try UserEncoder(config: config.encoder, scorer: scorer, rng: &rng)
        self.config = config
        dataset = train
        self.outDirectory = URL(fileURLWithPath: outDirectory)
        let index = try UserPairIndex(dataset: train)
        let missing = users.filter { index.pairsByUser[$0] == nil }
        guard missing.isEmpty else {
            throw PersonalizationError.unknownUser(id: missing[0], source: train.file, available: PersonalizationError.describe(ids: index.users))
        }
        guard users.count >= 2 else {
            throw PersonalizationError.invalidSetting(flag: "--users", reason: "needs at least 2 training users with pairs in \(train.file); their weights give the prior")
        }
        self.users = users
        let pairs = users.flatMap { index.pairsByUser[$0] ?? [] }.sorted()
        let read = try pairs.map { try train.pair(at: $0) }
        let tableRow = Dictionary(uniqueKeysWithValues: users.enumerated().map { ($1, Int32($0)) })
        rows = read.map { tableRow[$0.userID]! }
        targets = read.map { $0.isTie ? 0.5 : 1 }
        log("user encoder: decoding \(pairs.count) pairs of \(users.count) users of \(train.file)")
        let images = try PairImages.load(train, pairs: pairs, resolution: config.encoder.sampleSize)
        winners = images.winners
        losers = images.losers
        log("user encoder: scoring them with the frozen scorer \(config.scorer)")
        scoreDifferences = try encoder.scoreDifferences(first: images.winners, second: images.losers,
                                                        prompts: read.map(\.prompt)).map(Float.init)
        var tableRNG = RNG(seed: config.seed, stream: 0x5441_424C)
        table = Tensor(shape: [users.count, config.encoder.embeddingDim],
                       data: tableRNG.normal(count: users.count * config.encoder.embeddingDim, std: Float(config.tableInitStd)))
    }

    var checkpointPath: String { outDirectory.appendingPathComponent("checkpoint").path }
    var metricsPath: String { outDirectory.appendingPathComponent("metrics.jsonl").path }
    var trainingConfigPath: String { outDirectory.appendingPathComponent("training_config.json").path }

    /// The pair indices of optimizer step `step` (0-based): a slice of that epoch's seeded permutation.
    public func batch(at step: Int) -> [Int] {
        let epoch = step / stepsPerEpoch, position = step % stepsPerEpoch
        var rng = RNG(seed: config.seed, stream: 0x4550_4F43).derived(stream: UInt64(epoch))
        var order = Array(0..<pairCount)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.nextInt(below: i + 1)) }
        let start = position * config.batchSize
        return Array(order[start..<min(start + config.batchSize, pairCount)])
    }

    /// The loss of a batch of pair indices and its accuracy on the non-tie pairs.
    public func loss(pairs batch: [Int]) throws -> (loss: Tensor, accuracy: Double?) {
        let s = config.encoder.sampleSize, stride = 3 * s * s, b = batch.count
        let images = Tensor.uninitialized([2 * b, 3, s, s])
        for (j, p) in batch.enumerated() {
            (images.data + j * stride).update(from: winners.data + p * stride, count: stride)
            (images.data + (b + j) * stride).update(from: losers.data + p * stride, count: stride)
        }
        let f = split(try encoder.features(images), sizes: [b, b], axis: 0)
        let w = embedding(ids: batch.map { rows[$0] }, table: table)
        let z = encoder.alpha * Tensor(shape: [b], data: batch.map { scoreDifferences[$0] }) + sum(w * (f[0] - f[1]), axis: 1)
        let y = Tensor(shape: [b], data: batch.map { targets[$0] })
        let nll = mean(y * softplus(neg(z)) + (1 - y) * softplus(z))
        let penalty = sum(table * table) * Float(config.tableL2 / Double(users.count))
        let logits = z.toArray()
        var right = 0, counted = 0
        for (j, p) in batch.enumerated() where targets[p] != 0.5 {
            counted += 1
            if logits[j] > 0 { right += 1 }
        }
        return (nll + penalty, counted == 0 ? nil : Double(right) / Double(counted))
    }

    /// Trains to `config.epochs` (resuming from a checkpoint when there is one), then writes the encoder
    /// folder with the prior of the fitted users. Returns false when interrupted (a checkpoint was saved first);
    /// `stopAfter` interrupts the same way once that many steps are done.
    @discardableResult
    public func run(log: (String) -> Void = { print($0) }, stopAfter: Int? = nil) throws -> Bool {
        let state = TrainedUserTable(encoder: encoder, table: table)
        let trained = encoder.tasteParameters.map { ("encoder." + $0.0, $0.1) } + [("encoder.alpha", encoder.alpha), ("user_weights", table)]
        for (_, t) in trained { t.requiresGrad = true }
        let optimizer = AdamW(namedParameters: trained, hyperparameters: .init(lr: config.learningRate, weightDecay: 0))
        var step = 0
        let run = RunState(config: config, dataset: dataset.file, users: users)
        if TrainingCheckpoint<RunState>.exists(at: checkpointPath) {
            let ckpt = try TrainingCheckpoint<RunState>.load(from: checkpointPath)
            guard ckpt.training.config == config, ckpt.training.users == users else {
                throw PersonalizationError.invalidSetting(flag: "--out", reason: "\(checkpointPath) was written with different settings or users; resume with the same flags (see \(trainingConfigPath)) or choose a new --out")
            }
            try ckpt.restore(model: state, optimizer: optimizer)
            step = ckpt.step
            try MetricsFile.truncate(metricsPath, after: step, as: Metrics.self)
            log("resuming \(outDirectory.path) from step \(step)")
        } else {
            try AtomicFile.createDirectories(outDirectory.path)
            try AtomicFile.write(JSONFormat.pretty.encode(config), to: trainingConfigPath)
            try? FileManager.default.removeItem(atPath: metricsPath)
        }
        let save = { (at: Int) in
            try TrainingCheckpoint(step: at, model: state, optimizer: optimizer, training: run).save(to: self.checkpointPath)
        }
        var progress = ProgressLine(total: totalSteps, label: "user encoder", startStep: step)
        let start = Date()
        var epochLoss = 0.0, epochSteps = 0
        while step < totalSteps {
            if InterruptFlag.shared.isRaised || step == stopAfter {
                try save(step)
                log("saved \(checkpointPath) at step \(step); run the same command again to resume")
                return false
            }
            optimizer.zeroGrad()
            let out = try loss(pairs: batch(at: step))
            out.loss.backward()
            optimizer.step()
            step += 1
            let m = Metrics(step: step, epoch: (step - 1) / stepsPerEpoch + 1, loss: Double(out.loss.item()), accuracy: out.accuracy,
                            alpha: Double(encoder.alpha.data[0]), lr: optimizer.lr, seconds: Date().timeIntervalSince(start))
            guard m.loss.isFinite else {
                throw PersonalizationError.invalidSetting(flag: "--lr", reason: "is too high: the loss diverged at step \(step)")
            }
            try JSONLines.append(m, to: metricsPath)
            epochLoss += m.loss; epochSteps += 1
            progress.update(step: step, values: [("epoch", Double(m.epoch)), ("loss", m.loss), ("acc", m.accuracy ?? .nan), ("alpha", m.alpha)])
            if step % stepsPerEpoch == 0 {
                log(String(format: "epoch %d/%d: mean loss %.4f over %d steps", m.epoch, config.epochs, epochLoss / Double(epochSteps), epochSteps))
                epochLoss = 0; epochSteps = 0
            }
            if step % config.checkpointEvery == 0 || step == totalSteps { try save(step) }
        }
        for (_, t) in trained { t.requiresGrad = false }
        try finish()
        return true
    }

    /// The table's rows → the prior; writes the encoder folder and user_weights.json.
    func finish() throws {
        let d = config.encoder.embeddingDim
        let weights = users.indices.map { u in (0..<d).map { Double(table.data[u * d + $0]) } }
        encoder.setPrior(try UserPrior(alpha: Double(encoder.alpha.data[0]), userWeights: weights))
        try encoder.save(to: outDirectory.path)
        let fitted = zip(users, weights).map { FittedUser(user: $0, weights: $1) }
        try AtomicFile.write(JSONFormat.pretty.encode(fitted), to: outDirectory.appendingPathComponent("user_weights.json").path)
    }

    struct FittedUser: Codable { var user: Int; var weights: [Double] }
}

/// ψ, α and the per-user table as one module, so one checkpoint holds all that is trained.
final class TrainedUserTable: Module {
    let encoder: UserEncoder
    let table: Tensor
    init(encoder: UserEncoder, table: Tensor) {
        self.encoder = encoder
        self.table = table
    }
    var ownParameters: [(String, Tensor)] { [("user_weights", table)] }
    var children: [(String, any Module)] { [("encoder", encoder)] }
}

extension UserEncoderTrainer {
    /// The held-out evaluation: new users' K support pairs from `support`, their `queries` predicted.
    /// Writes evaluation.json and evaluation.md into the output directory.
    public func evaluateHeldOut(support: PairDataset, queries: PairDataset, simulatedUsers: [SimulatedUser]?) throws -> FewShotAccuracyReport {
        let report = try FewShotAccuracy.evaluate(encoder: encoder, support: UserPairIndex(dataset: support),
                                                  queries: UserPairIndex(dataset: queries), draws: config.evalDraws,
                                                  seed: config.seed, simulatedUsers: simulatedUsers)
        try AtomicFile.write(JSONFormat.pretty.encode(report), to: outDirectory.appendingPathComponent("evaluation.json").path)
        try AtomicFile.write("# User encoder: held-out users\n\n" + report.headline + "\n\n" + report.markdown + "\n",
                             to: outDirectory.appendingPathComponent("evaluation.md").path)
        return report
    }
}
