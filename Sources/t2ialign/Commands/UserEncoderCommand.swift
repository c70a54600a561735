import ArgumentParser
import Datasets
import Foundation
import Preference
import ShapesWorld

/// `t2ialign user-encoder`: the few-shot user encoder of personalized DPO.
struct UserEncoderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user-encoder",
        abstract: "Train and evaluate the few-shot user encoder used by personalized DPO.",
        subcommands: [UserEncoderTrainCommand.self, UserEncoderEvalCommand.self])
}

/// `t2ialign user-encoder train`.
struct UserEncoderTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the few-shot user encoder episodically on the training users' pairs.",
        discussion: """
        Each step draws --users-per-episode users of --split; for each, K = --shots labelled pairs give the \
        embedding u = normalize(mean ψ(x_w) − ψ(x_l)) and --queries other pairs of the same user are predicted \
        with P(a ≻ b) = σ(s·⟨u, ψ(a) − ψ(b)⟩). Held-out users are never trained on: at the end, their K pairs \
        from --support-split predict their --query-split pairs, against a population-only predictor \
        (evaluation.json / evaluation.md). --out becomes a user encoder folder for `t2ialign train --personalized \
        --user-encoder DIR`; running the same command again resumes from its checkpoint.

        Example: t2ialign user-encoder train --data cache/shapes --out runs/user-encoder
        """)

    @Option(help: "Dataset folder (Pick-a-Pic layout).") var data = "cache/shapes"
    @Option(help: "Output folder (a user encoder folder).") var out = "runs/user-encoder"
    @Option(help: "Training split.") var split = "train"
    @Option(name: .customLong("validation-split"), help: "Training users' pairs for monitoring ('none' to skip).") var validationSplit = "validation"
    @Option(name: .customLong("support-split"), help: "Held-out users' K given pairs.") var supportSplit = "heldout_train"
    @Option(name: .customLong("query-split"), help: "Held-out users' pairs to predict.") var querySplit = "heldout_validation"
    @Option(help: "K: labelled pairs per user embedding.") var shots = 4
    @Option(help: "Q: query pairs per user per episode.") var queries = 8
    @Option(name: .customLong("users-per-episode")) var usersPerEpisode = 8
    @Option(name: .customLong("embedding-dim")) var embeddingDim = 32
    @Option(help: "Optimizer steps.") var steps = 1500
    @Option(name: .customLong("lr")) var learningRate = 1e-3
    @Option(name: .customLong("weight-decay")) var weightDecay = 1e-4
    @Option(help: "Linear warmup steps (cosine decay after).") var warmup = 50
    @Option var seed: UInt64 = 0
    @Option(name: .customLong("checkpoint-every")) var checkpointEvery = 250
    @Option(name: .customLong("eval-every"), help: "Validation accuracy every N steps (0: only at the end).") var evalEvery = 250
    @Option(name: .customLong("eval-draws"), help: "Support draws averaged per user in evaluations.") var evalDraws = 5

    func run() throws {
        try CLIError.wrap {
            var config = UserEncoderTrainingConfig()
            config.encoder.shots = shots
            config.encoder.embeddingDim = embeddingDim
            config.queries = queries
            config.usersPerEpisode = usersPerEpisode
            config.steps = steps
            config.learningRate = learningRate
            config.weightDecay = weightDecay
            config.warmupSteps = warmup
            config.seed = seed
            config.checkpointEvery = checkpointEvery
            config.evalEvery = evalEvery
            config.evalDraws = evalDraws
            try config.validate()
            let size = config.encoder.sampleSize
            // Ties are kept: they are ½/½ queries (never support pairs).
            let options = PairDatasetOptions(keepTies: true, resolution: size)
            let train = try PairDataset(directory: data, split: split, options: options)
            let validation = validationSplit == "none" ? nil
                : try PairDataset(directory: data, split: validationSplit, options: options)
            let trainer = try UserEncoderTrainer(config: config, train: train, validation: validation, outDirectory: out)
            print("user encoder: \(trainer.episodeUsers.count) training users of \(train.file), \(config.steps) steps of "
                  + "\(config.usersPerEpisode) users × (K = \(shots) support + Q = \(queries) query pairs), \(trainer.encoder.parameterCount) parameters")
            guard try trainer.run() else { return }
            print("user encoder written to \(out)")
            let report = try trainer.evaluateHeldOut(support: PairDataset(directory: data, split: supportSplit, options: options),
                                                     queries: PairDataset(directory: data, split: querySplit, options: options),
                                                     simulatedUsers: SimulatedUsersFile.read(data: data))
            print(report.headline)
            print("report: \(out)/evaluation.md, \(out)/evaluation.json")
        }
    }
}

/// `t2ialign user-encoder eval`.
struct UserEncoderEvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Few-shot accuracy of a user encoder on users' held-out pairs vs a population-only predictor.",
        discussion: "Example: t2ialign user-encoder eval --encoder runs/user-encoder --data cache/shapes")

    @Option(help: "User encoder folder (or a personalized model's user_encoder/).") var encoder = "runs/user-encoder"
    @Option(help: "Dataset folder.") var data = "cache/shapes"
    @Option(name: .customLong("population-split"), help: "Split holding the population user's pairs.") var populationSplit = "train"
    @Option(name: .customLong("support-split")) var supportSplit = "heldout_train"
    @Option(name: .customLong("query-split")) var querySplit = "heldout_validation"
    @Option(help: "Support draws averaged per user.") var draws = 5
    @Option var seed: UInt64 = 0

    func run() throws {
        try CLIError.wrap {
            let encoder = try UserEncoder.load(from: self.encoder)
            let options = PairDatasetOptions(keepTies: true, resolution: encoder.config.sampleSize)
            let population = try FewShotAccuracy.populationPrototype(
                encoder: encoder, index: UserPairIndex(dataset: PairDataset(directory: data, split: populationSplit, options: options)))
            let report = try FewShotAccuracy.evaluate(
                encoder: encoder, support: UserPairIndex(dataset: PairDataset(directory: data, split: supportSplit, options: options)),
                queries: UserPairIndex(dataset: PairDataset(directory: data, split: querySplit, options: options)),
                population: population, draws: draws, seed: seed, simulatedUsers: SimulatedUsersFile.read(data: data))
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
