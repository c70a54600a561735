import ArgumentParser
import Datasets
import Files
import Foundation
import Kernels
import NN
import Scoring

/// `t2ialign scorer …`: the learned PickScore-style preference scorer.
struct ScorerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scorer",
        abstract: "Train the learned preference scorer and measure its agreement with held-out labels.",
        subcommands: [ScorerTrainCommand.self, ScorerAgreementCommand.self]
    )
}

/// `t2ialign scorer train`: trains a scorer on a dataset's preference pairs, then reports its validation
/// agreement next to the oracle's.
struct ScorerTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a PickScore-style preference scorer on preference pairs.",
        discussion: """
        The objective is PickScore's: the two scores of a pair through a softmax, cross-entropy against the \
        labels (a tie is ½/½), rows weighted by 1/num_example_per_prompt. By default only the population \
        user's pairs (user 0) are used. When --data names a folder that does not exist yet, the Shapes world \
        is synthesized there first.

        The run directory gets config.json, metrics.jsonl, checkpoint/ (saved every --checkpoint-every steps \
        and on Ctrl-C; the same command resumes exactly), model/ (the scorer folder for `eval --scorer`, \
        with agreement.json) and agreement.json. At the end the validation agreement of the scorer and of the Shapes oracle is printed.

        Example: t2ialign scorer train --data cache/shapes --out runs/scorer --steps 3000
        """)

    @Option(help: "Dataset folder (Pick-a-Pic layout); the Shapes world is synthesized there when absent.") var data = "cache/shapes"
    @Option(help: "Split to train on.") var split = "train"
    @Option(help: "Split the agreement is reported on (and the tie threshold tuned on).") var validationSplit = "validation"
    @Option(help: "Run directory (created; resumed when it holds a checkpoint).") var out = "runs/scorer"
    @Option(help: "Optimizer steps.") var steps = 3000
    @Option(name: .customLong("batch-size"), help: "Pairs per step.") var batchSize = 64
    @Option(name: .customLong("lr"), help: "Peak learning rate (AdamW).") var learningRate = 1e-3
    @Option(name: .customLong("lr-schedule"), help: "constant, constant_with_warmup, linear or cosine.") var lrSchedule = "cosine"
    @Option(help: "Linear warmup steps.") var warmup = 100
    @Option(name: .customLong("weight-decay")) var weightDecay = 0.01
    @Option(name: .customLong("max-grad-norm")) var maxGradNorm = 1.0
    @Option(name: .customLong("ema-decay"), help: "EMA of the saved weights (0 = off).") var emaDecay = 0.0
    @Option(name: .customLong("checkpoint-every")) var checkpointEvery = 250
    @Option(name: .customLong("validate-every"), help: "Log the validation agreement every N steps (0 = only at the end).")
    var validateEvery = 250
    @Option(help: "Seed of the initialisation, data order and flips.") var seed: UInt64 = 0
    @Option(help: "Only pairs of these users, comma-separated (default 0, the population user; 'all' for every user).")
    var users: String?
    @Flag(inversion: .prefixedNo, help: "Random horizontal flips (left/right swapped in the prompt).") var flip = true
    @Option(name: .customLong("caption-loss-weight"),
            help: "Weight of the contrastive loss between images and their own captions (caption_0/caption_1), when the data has them; 0 = off.")
    var captionLossWeight = 1.0
    @Option(name: .customLong("hard-negatives"),
            help: "One-attribute-off copies of each caption added as negatives to that loss (Shapes-grammar captions; 0 = none).")
    var hardNegatives = 2
    @Option(help: "A scorer config.json to use instead of the default architecture.") var config: String?
    @Option(name: .customLong("detail-channels"),
            help: "High-pass detail filters on the raw pixels, pooled as mean log energy (pixel-noise features; 0 = none, the default architecture; docs/SCORER.md measured 16). Overrides --config's detail_channels.")
    var detailChannels: Int?
    @Flag(help: "Skip malformed rows (counted) instead of stopping at the first.") var lenient = false

    func run() throws {
        try CLIError.wrap {
            var settings = ScorerTrainingConfig()
            settings.steps = steps
            settings.batchSize = batchSize
            settings.learningRate = learningRate
            settings.lrSchedule = lrSchedule
            settings.warmupSteps = warmup
            settings.weightDecay = weightDecay
            settings.maxGradNorm = maxGradNorm
            settings.emaDecay = emaDecay
            settings.checkpointEvery = checkpointEvery
            settings.validateEvery = validateEvery
            settings.seed = seed
            settings.users = try UserSelection.parse(users)
            settings.flip = flip
            settings.captionLossWeight = captionLossWeight
            settings.hardNegatives = hardNegatives
            if let config { settings.model = try PreferenceScorerConfig.load(from: config) }
            if let detailChannels {
                guard detailChannels >= 0 else {
                    throw CLIError("--detail-channels \(detailChannels): give 0 (no detail branch) or a positive number of filters, e.g. 16")
                }
                settings.model.vision.detailChannels = detailChannels
            }
            try settings.validate()

            try DefaultData.ensureShapesDataset(at: data)
            var options = PairDatasetOptions(keepTies: true, lenient: lenient, resolution: settings.model.vision.imageSize)
            options.users = settings.users.map(Set.init)
            let dataset = try PairDataset(directory: data, split: split, options: options)
            print("data: \(dataset.file): \(dataset.count) pairs used (\(dataset.report))")
            var rng = RNG(seed: settings.seed, stream: 0x5C0_4E)
            let scorer = try PreferenceScorer(config: settings.model, rng: &rng)
            print("scorer: \(scorer.parameterCount) parameters; \(settings.steps) steps of \(settings.batchSize) pairs, lr \(settings.learningRate)")
            let trainer = try ScorerTrainer(scorer: scorer, dataset: dataset, config: settings, runDirectory: out)
            let hasValidation = FileManager.default.fileExists(atPath: (data as NSString).appendingPathComponent(validationSplit + ".jsonl"))
            if hasValidation && validateEvery > 0 {
                trainer.validation = try AgreementEvaluation.open(directory: data, split: validationSplit, users: options.users,
                                                                  resolution: scorer.resolution)
            }
            fflush(nil)  // all streams: stdout is block-buffered when piped, and progress goes to stderr
            let command = "t2ialign " + CommandLine.arguments.dropFirst().joined(separator: " ")
            func card(_ last: ScorerTrainer.Metrics?, _ seconds: Double, _ agreement: AgreementReport?) -> String {
                ScorerCard.text(config: settings, command: command, data: data, pairs: dataset.count,
                                parameterCount: scorer.parameterCount, last: last, seconds: seconds, agreement: agreement)
            }
            var finalMetrics: (ScorerTrainer.Metrics?, Double)?
            let finished = try trainer.run { last, seconds in
                finalMetrics = (last, seconds)
                return card(last, seconds, nil)
            }
            guard finished else { return }
            guard hasValidation else {
                print("scorer written to \(trainer.modelPath); no \(validationSplit) split in \(data), so no agreement was measured")
                return
            }

            // Measure the saved weights (EMA when enabled) and complete the card with the agreements.
            print("measuring the agreement on \(validationSplit) …")
            fflush(nil)  // all streams: stdout is block-buffered when piped, and progress goes to stderr
            let saved = try PreferenceScorer.load(from: trainer.modelPath)
            let report = try AgreementEvaluation.evaluate(scorer: saved, directory: data, split: validationSplit,
                                                          users: options.users, thresholdSplit: validationSplit)
            let runDir = URL(fileURLWithPath: out)
            try AtomicFile.write(JSONFormat.pretty.encode(report), to: runDir.appendingPathComponent(AgreementReport.fileName).path)
            try saved.save(to: trainer.modelPath, card: card(finalMetrics?.0, finalMetrics?.1 ?? 0, report))
            // Inside the model folder too, so `eval --scorer` can quote the scorer's held-out agreement.
            try report.save(toScorerFolder: trainer.modelPath)
            print(report.text)
            print("scorer written to \(trainer.modelPath) (use it with `t2ialign eval --scorer \(trainer.modelPath)`)")
        }
    }
}

/// `t2ialign scorer agreement`: a scorer's agreement with a split's labels, and the oracle's.
struct ScorerAgreementCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agreement",
        abstract: "Agreement of a learned scorer with held-out preference labels, next to the Shapes oracle's.",
        discussion: """
        Agreement is the share of non-tie labels whose preferred image the scorer scores higher. With tie \
        prediction (PickScore's protocol) a tie is predicted when the pair's two softmax probabilities differ \
        by less than a threshold tuned on the validation split; a half-right tie earns half credit. The oracle \
        is the Shapes reward r_u of each row's user measured from the pixels: the ceiling label noise allows.

        Example: t2ialign scorer agreement --scorer Models/shapes-scorer-wide --data cache/shapes --split test
        """)

    @Option(help: "Scorer folder (model.safetensors, config.json, README.md).") var scorer: String
    @Option(help: "Dataset folder (Pick-a-Pic layout).") var data: String
    @Option(help: "Split to measure.") var split = "validation"
    @Option(help: "Split the tie threshold is tuned on.") var thresholdSplit = "validation"
    @Option(help: "Only pairs of these users, comma-separated (default 0, the population user; 'all' for every user).")
    var users: String?
    @Option(help: "Also write the report as JSON to this file.") var json: String?

    func run() throws {
        try CLIError.wrap {
            let model = try PreferenceScorer.load(from: scorer)
            let selected = try UserSelection.parse(users)
            let report = try AgreementEvaluation.evaluate(scorer: model, directory: data, split: split, users: selected.map(Set.init),
                                                          thresholdSplit: thresholdSplit)
            if let json { try AtomicFile.write(JSONFormat.pretty.encode(report), to: json) }
            print(report.text)
        }
    }
}
