import ArgumentParser
import Datasets
import Foundation
import Preference
import ShapesWorld

/// `t2ialign user-encoder`: the user model of personalized DPO.
struct UserEncoderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user-encoder",
        abstract: "Train and evaluate the few-shot user model used by personalized DPO.",
        subcommands: [UserEncoderTrainCommand.self, UserEncoderEvalCommand.self])
}

/// `t2ialign user-encoder train`.
struct UserEncoderTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the taste network ψ of the user model on many training users at once.",
        discussion: """
        The user model is P(a ≻ b | user) = σ(α·Δs + ⟨w_u, ψ(a) − ψ(b)⟩): Δs from the frozen --scorer (what \
        everybody agrees on), w_u the user's taste weights. ψ, α and one w_u per training user are fitted to all \
        the training users' pairs of --split; the fitted w_u then give the prior from which a new user's w is \
        estimated from K = --shots pairs (MAP), with no training per user. Held-out users are never trained on: \
        at the end, their K pairs from --support-split of --eval-data predict their --query-split pairs \
        (evaluation.json / evaluation.md). --out becomes a user encoder folder for `t2ialign train --personalized \
        --user-encoder DIR`; running the same command again resumes from its checkpoint.

        ψ needs many users: the default Shapes data has 40 training users, so the documented encoder is trained on \
        a dataset with 400 (docs/PERSONALIZATION.md):
          t2ialign data synth --out cache/shapes-users400 --seed 5 --population-pairs 200 --users-per-archetype 100 --heldout-per-archetype 1
          t2ialign user-encoder train --data cache/shapes-users400 --eval-data cache/shapes --out runs/user-encoder
        """)

    @Option(help: "Dataset folder with the training users (Pick-a-Pic layout).") var data = "cache/shapes"
    @Option(name: .customLong("eval-data"), help: "Dataset folder whose held-out users are evaluated (default: --data).") var evalData: String?
    @Option(help: "Output folder (a user encoder folder).") var out = "runs/user-encoder"
    @Option(help: "Frozen population scorer folder (the shared part of the user model).") var scorer = "Models/shapes-scorer"
    @Option(help: "Training split.") var split = "train"
    @Option(help: "Training users, comma-separated (default: every personal training user of users.json, else every user).") var users: String?
    @Option(name: .customLong("support-split"), help: "Held-out users' pairs the K shots come from.") var supportSplit = "heldout_train"
    @Option(name: .customLong("query-split"), help: "Held-out users' pairs to predict.") var querySplit = "heldout_validation"
    @Option(help: "K: labelled pairs a new user gives.") var shots = 4
    @Option(name: .customLong("embedding-dim"), help: "D: taste features (and user embedding size).") var embeddingDim = 4
    @Option(help: "Passes over the training pairs.") var epochs = 30
    @Option(name: .customLong("batch-size"), help: "Pairs per optimizer step.") var batchSize = 256
    @Option(name: .customLong("lr"), help: "Adam learning rate (constant).") var learningRate = 3e-3
    @Option var seed: UInt64 = 0
    @Option(name: .customLong("checkpoint-every"), help: "Checkpoint every N steps.") var checkpointEvery = 200
    @Option(name: .customLong("eval-draws"), help: "Random support draws per held-out user in the evaluation.") var evalDraws = 20

    func run() throws {
        try CLIError.wrap {
            var config = UserEncoderTrainingConfig()
            config.encoder.shots = shots
            config.encoder.embeddingDim = embeddingDim
            config.scorer = scorer
            config.epochs = epochs
            config.batchSize = batchSize
            config.learningRate = learningRate
            config.seed = seed
            config.checkpointEvery = checkpointEvery
            config.evalDraws = evalDraws
            let chosen = try users.map { try UserSelection.parse($0) } ?? PersonalizedUsers.training(data: data)
            config.users = chosen
            try config.validate()
            // Ties are kept: they are ½/½ pairs.
            let options = PairDatasetOptions(keepTies: true, resolution: config.encoder.sampleSize)
            let train = try PairDataset(directory: data, split: split, options: options)
            let ids = try chosen ?? UserPairIndex(dataset: train).users
            let trainer = try UserEncoderTrainer(config: config, train: train, users: ids, outDirectory: out)
            print("user encoder: \(trainer.pairCount) pairs of \(ids.count) training users, \(config.epochs) epochs × "
                  + "\(trainer.stepsPerEpoch) steps of \(config.batchSize) pairs, ψ with \(trainer.encoder.parameterCount) parameters")
            guard try trainer.run() else { return }
            print("user encoder written to \(out)")
            let evalDir = evalData ?? data
            let evalOptions = PairDatasetOptions(keepTies: true, resolution: config.encoder.sampleSize)
            let report = try trainer.evaluateHeldOut(support: PairDataset(directory: evalDir, split: supportSplit, options: evalOptions),
                                                     queries: PairDataset(directory: evalDir, split: querySplit, options: evalOptions),
                                                     simulatedUsers: SimulatedUsersFile.read(data: evalDir))
            print(report.headline)
            print("report: \(out)/evaluation.md, \(out)/evaluation.json")
        }
    }
}

/// `t2ialign user-encoder eval`.
struct UserEncoderEvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Few-shot accuracy of a user model on users' held-out pairs vs the shared scorer alone.",
        discussion: "Example: t2ialign user-encoder eval --encoder runs/user-encoder --data cache/shapes")

    @Option(help: "User encoder folder (or a personalized model's user_encoder/).") var encoder = "runs/user-encoder"
    @Option(help: "Dataset folder.") var data = "cache/shapes"
    @Option(name: .customLong("support-split")) var supportSplit = "heldout_train"
    @Option(name: .customLong("query-split")) var querySplit = "heldout_validation"
    @Option(help: "Random support draws per user.") var draws = 20
    @Option var seed: UInt64 = 0

    func run() throws {
        try CLIError.wrap {
            let encoder = try UserEncoder.load(from: self.encoder)
            let options = PairDatasetOptions(keepTies: true, resolution: encoder.config.sampleSize)
            let report = try FewShotAccuracy.evaluate(
                encoder: encoder, support: UserPairIndex(dataset: PairDataset(directory: data, split: supportSplit, options: options)),
                queries: UserPairIndex(dataset: PairDataset(directory: data, split: querySplit, options: options)),
                draws: draws, seed: seed, simulatedUsers: SimulatedUsersFile.read(data: data))
            print(report.headline)
            print(report.markdown)
        }
    }
}

enum SimulatedUsersFile {
    /// The dataset's users.json when it has one (Shapes data), for the oracle columns.
    static func read(data: String) throws -> [SimulatedUser]? {
        let path = URL(fileURLWithPath: data).appendingPathComponent(UsersFile.fileName).path
        return FileManager.default.fileExists(atPath: path) ? try UsersFile.read(path) : nil
    }
}
