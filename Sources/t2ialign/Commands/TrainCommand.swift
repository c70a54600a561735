import ArgumentParser
import Datasets
import Diffusion
import Foundation
import NN
import Preference
import Scoring
import ShapesWorld

/// `t2ialign train`: aligns a pretrained model on preference pairs.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Align a pretrained model on preference pairs with Diffusion-DPO, MaPO, DCPO, SFT or personalized DPO.",
        discussion: """
        Reads a dataset in the Pick-a-Pic layout (see `t2ialign data --help`); when --data names a folder \
        that does not exist yet, the Shapes world is synthesized there first. The run directory gets \
        config.json (every value used), metrics.jsonl, checkpoint/ (saved every --checkpoint-every steps \
        and on Ctrl-C; running the same command again resumes exactly), model/ and curves.png. On Shapes data \
        the run ends with an evaluation of model/ against --init by the oracle (--eval-prompts held-out test \
        prompts, one seed; report in RUN/eval/). With no arguments: Diffusion-DPO on cache/shapes from \
        Models/shapes-base, then that evaluation.

        Defaults follow the reference implementations: --beta 5000 for dpo (the −0.5·β convention), 500 \
        for dcpo, 0.1 for mapo; ties dropped; no prompt dropout except 0.1 for sft. What they give in the \
        Shapes world (1,000 steps, 4 seeds, win rate over Models/shapes-base by the oracle): dpo 72–79%, dcpo \
        72–78%, sft 32–52%, and mapo 23–28% — MaPO's reference-free margin makes the samples noisier here; \
        docs/ALIGNMENT.md shows why and what helps.

        --personalized (with --objective dpo) trains on all training users at once (by default the \
        non-held-out personal users of --data's users.json, or every user when there is none), on the pairs \
        whose predicted preference depends on who labelled them (--user-taste-pairs; 0 for every pair): each pair's \
        user embedding comes from --user-shots other pairs of its user (--user-support: the most informative \
        ones, random ones, or all of them) through the frozen --user-encoder (MAP weights of the user model), \
        a user projection (trained with the U-Net) turns it into --user-tokens tokens after the text tokens \
        of the trained network only, read by their own cross-attention branches (--user-injection decoupled) \
        or by the text's (appended), and --user-dropout zeroes it. See docs/PERSONALIZATION.md.

        Examples:
          t2ialign train --objective dpo --init Models/shapes-base --data cache/shapes --steps 500
          t2ialign train --objective dcpo --captions perturb-medium --out runs/dcpo
          t2ialign train --objective dpo --personalized --user-encoder runs/user-encoder --out runs/dpo-personalized
        """)

    @Option(help: "dpo, mapo, dcpo or sft.") var objective = "dpo"
    @Option(name: .customLong("init"), help: "Pretrained model folder to start from.") var initModel = "Models/shapes-base"
    @Option(help: "Dataset folder (Pick-a-Pic layout); synthesized when absent.") var data = "cache/shapes"
    @Option(help: "Split to train on.") var split = "train"
    @Option(help: "Run directory (default runs/OBJECTIVE).") var out: String?
    @Option(help: "Objective β (default: dpo 5000, dcpo 500, mapo 0.1).") var beta: Double?
    @Option(name: .customLong("lr"), help: "Peak learning rate (AdamW); 1e-6 measured best of 2e-5, 5e-6, 1e-6 for DPO in the Shapes world (docs/ALIGNMENT.md).") var learningRate = 1e-6
    @Option(name: .customLong("lr-schedule"), help: "constant, constant_with_warmup or cosine.") var lrSchedule = "constant_with_warmup"
    @Option(help: "Linear warmup steps.") var warmup = 50
    @Option(name: .customLong("weight-decay")) var weightDecay = 0.01
    @Option(name: .customLong("batch-size"), help: "Pairs per micro-batch.") var batchSize = 8
    @Option(name: .customLong("gradient-accumulation"), help: "Micro-batches per optimizer step.") var gradientAccumulation = 1
    @Option(name: .customLong("max-grad-norm")) var maxGradNorm = 1.0
    @Option(name: .customLong("prompt-dropout"), help: "p_uncond (default 0, or 0.1 for sft).") var promptDropout: Double?
    @Option(help: "Optimizer steps.") var steps = 500
    @Option var seed: UInt64 = 0
    @Option(name: .customLong("checkpoint-every")) var checkpointEvery = 100
    @Option(name: .customLong("ema-decay"), help: "EMA of the trained weights (0 = off).") var emaDecay = 0.0
    @Option(help: "DCPO captions: dataset, captioning, perturb-weak, perturb-medium, perturb-strong, hybrid.") var captions = "dataset"
    @Option(help: "Only pairs of these users, comma-separated (default: 0, the population user, when the data has one; 'all' for every user).")
    var users: String?
    @Flag(help: "Random horizontal flips.") var flip = false
    @Flag(name: .customLong("gradient-checkpointing"),
          help: "Recompute the U-Net's transformer blocks in the backward pass: 13–18% less peak memory (bench model, tiny and small) for their extra forward pass; same results to rounding.")
    var gradientCheckpointing = false
    @Flag(help: "Skip malformed rows (counted) instead of stopping at the first.") var lenient = false
    @Flag(help: "Personalized DPO: condition the trained network on each pair's user embedding.") var personalized = false
    @Option(name: .customLong("eval-prompts"),
            help: "After training on Shapes data, evaluate the aligned model against --init by the oracle on this many held-out test prompts (0 = skip).")
    var evalPrompts = 100
    @Option(name: .customLong("eval-steps"), help: "DDIM steps of that evaluation.") var evalSteps = 25
    // Personalized DPO only (optional, so that setting one without --personalized is caught; defaults in the help).
    @Option(name: .customLong("user-encoder"), help: "Trained user encoder folder (t2ialign user-encoder train --out DIR; default runs/user-encoder).")
    var userEncoder: String?
    @Option(name: .customLong("user-tokens"), help: "M: user tokens after the text tokens (default 4).") var userTokens: Int?
    @Option(name: .customLong("user-injection"), help: "How the U-Net reads them: decoupled (their own cross-attention keys/values, IP-Adapter style; default) or appended (the text's).")
    var userInjection: String?
    @Option(name: .customLong("user-shots"), help: "K: pairs per user embedding (default: the encoder's).") var userShots: Int?
    @Option(name: .customLong("user-support"), help: "Which other pairs of its user give a pair's embedding: informative (the K most informative; default), random (K) or all.")
    var userSupport: String?
    @Option(name: .customLong("user-taste-pairs"), help: "Train only on pairs whose predicted preference differs between their user and the average user by at least this probability margin (default 0.1; 0: every pair).")
    var userTastePairs: Double?
    @Option(name: .customLong("user-dropout"), help: "p_udrop: probability of zeroing a pair's user embedding (default 0.1).") var userDropout: Double?
    @Option(name: .customLong("user-projection-lr"), help: "Peak learning rate of the user projection, trained from scratch (default 1e-3).")
    var userProjectionLR: Double?

    func run() throws {
        try CLIError.wrap {
            guard let objective = Objective(rawValue: objective) else {
                throw CLIError("--objective must be one of \(Objective.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var config = PreferenceTrainingConfig()
            config.objective = objective
            config.beta = beta
            config.learningRate = learningRate
            config.lrSchedule = lrSchedule
            config.warmupSteps = warmup
            config.weightDecay = weightDecay
            config.batchSize = batchSize
            config.gradientAccumulation = gradientAccumulation
            config.maxGradNorm = maxGradNorm
            config.promptDropout = promptDropout
            config.steps = steps
            config.seed = seed
            config.checkpointEvery = checkpointEvery
            config.emaDecay = emaDecay
            config.captions = captions
            config.flip = flip
            config.gradientCheckpointing = gradientCheckpointing
            config.users = try UserSelection.parse(users)
            let userFlagSet = userEncoder != nil || userTokens != nil || userShots != nil || userSupport != nil
                || userDropout != nil || userProjectionLR != nil || userInjection != nil || userTastePairs != nil
            if personalized {
                // PersonalizationSettings' own defaults, overridden by the flags given.
                var settings = PersonalizationSettings(userEncoder: userEncoder ?? "runs/user-encoder", shots: userShots)
                if let userSupport {
                    guard let support = UserSupportSelection(rawValue: userSupport) else {
                        throw CLIError("--user-support must be one of \(UserSupportSelection.allCases.map(\.rawValue).joined(separator: ", ")), got '\(userSupport)'")
                    }
                    settings.support = support
                }
                if let userTokens { settings.tokens = userTokens }
                if let userInjection {
                    guard let injection = UserTokenInjection(rawValue: userInjection) else {
                        throw CLIError("--user-injection must be one of \(UserTokenInjection.allCases.map(\.rawValue).joined(separator: ", ")), got '\(userInjection)'")
                    }
                    settings.injection = injection
                }
                if let userDropout { settings.userDropout = userDropout }
                if let userTastePairs { settings.tasteMargin = userTastePairs }
                if let userProjectionLR { settings.projectionLearningRate = userProjectionLR }
                config.personalization = settings
            } else if userFlagSet {
                throw CLIError("--user-encoder, --user-tokens, --user-injection, --user-shots, --user-support, --user-taste-pairs, --user-dropout and --user-projection-lr need --personalized")
            }
            try config.validate()
            guard evalPrompts >= 0 else { throw CLIError("--eval-prompts must be 0 (no evaluation) or more") }
            guard evalSteps >= 1 else { throw CLIError("--eval-steps must be at least 1") }

            try DefaultData.ensureShapesDataset(at: data)
            if personalized && users == nil { config.users = try PersonalizedUsers.training(data: data) }
            let model = try TextToImageModel.load(from: initModel)
            var options = PairDatasetOptions(lenient: lenient, resolution: model.resolution)
            options.users = config.users.map(Set.init)
            let dataset = try PairDataset(directory: data, split: split, options: options)
            print("data: \(dataset.file): \(dataset.count) pairs used (\(dataset.report))")
            let runDir = out ?? "runs/\(objective.rawValue)" + (personalized ? "-personalized" : "")
            let trainer = try PreferenceTrainer(model: model, dataset: dataset, config: config, runDirectory: runDir)
            print("\(objective.rawValue): " + (config.effectiveBeta.map { "β \($0), " } ?? "") + "lr \(config.learningRate), \(config.steps) steps of \(config.batchSize)×\(config.gradientAccumulation) pairs"
                  + (trainer.reference == nil ? ", no reference network" : ", frozen reference U-Net"))
            if let projection = trainer.userProjection, let index = trainer.userIndex {
                let support = config.personalization?.support == .all ? "all other pairs"
                    : "K = \(projection.config.shots) other pairs (\(config.personalization?.support.rawValue ?? ""))"
                let reading = projection.config.injection == .decoupled ? "read by their own cross-attention branches" : "appended to the text's"
                print("personalized: \(index.users.count) users, u from \(support) of the user, \(projection.config.numTokens) user tokens "
                      + "\(reading) (lr \(config.personalization?.projectionLearningRate ?? 0)), p_udrop \(projection.config.userDropout); "
                      + "the reference sees the text only")
                if let pairs = trainer.tastePairs {
                    print("personalized: training on the \(pairs.count) of \(trainer.dataset.count) pairs whose predicted preference moves by ≥ \(config.personalization?.tasteMargin ?? 0) between their user and the average user (--user-taste-pairs)")
                }
            }
            let command = "t2ialign " + CommandLine.arguments.dropFirst().joined(separator: " ")
            let finished = try trainer.run { last, seconds in
                AlignedModelCard.text(config: config, command: command, base: initModel, data: dataset.file,
                                      pairs: dataset.count, last: last, seconds: seconds)
                    + PersonalizedUsers.card(trainer)
            }
            guard finished else { return }
            print("model written to \(trainer.modelPath); curves in \(trainer.curvesPath)")
            try ClosingEvaluation.run(model: trainer.modelPath, baseline: initModel, data: data, users: config.users,
                                      prompts: personalized ? 0 : evalPrompts, steps: evalSteps, out: runDir + "/eval")
        }
    }
}

/// `train`'s last act on Shapes data: the aligned model against its starting point, by the oracle of the
/// user it was aligned to (the population user unless one other user was selected), on evenly spread
/// held-out test prompts, one seed each — the same evaluation `t2ialign eval` runs, smaller.
enum ClosingEvaluation {
    static func run(model: String, baseline: String, data: String, users: [Int]?, prompts count: Int, steps: Int, out: String) throws {
        guard count > 0 else { return }
        guard ShapesData.isShapes(data) else {
            print("not Shapes data, so no oracle: evaluate with `t2ialign eval --model \(model) --baseline \(baseline) --scorer DIR`")
            return
        }
        let prompts = PromptFile.evenlySpread(ShapesPrompt.prompts(in: .test).map(\.text), count: count)
        let n = prompts.count
        var settings = Evaluator.Settings()
        settings.seeds = 1
        settings.generation = GenerationOptions(sampler: .ddim, steps: steps, guidance: 3)
        let user = users?.count == 1 ? users?.first : nil
        print("evaluating against \(baseline) on \(n) held-out test prompts (oracle\(user.map { " of user \($0)" } ?? ""), DDIM \(steps) steps) …")
        try EvaluationRun.run(.init(model: model, baseline: baseline, scorer: OracleUser.scorer(user: user, data: data),
                                    prompts: prompts, settings: settings, out: out, sampleCache: EvaluationRun.defaultSampleCache))
    }
}

enum OracleUser {
    /// The oracle scorer for user `id` (0 or nil: the population user; others from DATA/users.json).
    static func scorer(user id: Int?, data: String) throws -> OracleRewardScorer {
        guard let id, id != SimulatedUser.populationID else { return OracleRewardScorer() }
        let path = URL(fileURLWithPath: data).appendingPathComponent(UsersFile.fileName).path
        let u = try UsersFile.user(id, in: UsersFile.read(path))
        return OracleRewardScorer(weights: u.weights, userDescription: "user \(id)" + (u.archetype.map { " (\($0.rawValue))" } ?? ""))
    }
}

enum ShapesData {
    /// Whether a dataset folder was made by the Shapes synthesizer (its dataset.json says so).
    static func isShapes(_ folder: String) -> Bool {
        let path = URL(fileURLWithPath: folder).appendingPathComponent("dataset.json").path
        guard let data = FileManager.default.contents(atPath: path),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let source = json["source"] as? String else { return false }
        return source.hasPrefix("shapes-world")
    }
}

/// --users: "0,3,7", "all", or absent (the population user 0 — what non-personalized alignment in the
/// Shapes world trains on; datasets without a user 0 should pass "all").
enum UserSelection {
    static func parse(_ text: String?) throws -> [Int]? {
        guard let text else { return [0] }
        if text == "all" { return nil }
        let ids = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !ids.isEmpty, ids.allSatisfy({ $0 != nil }) else {
            throw CLIError("--users takes comma-separated user ids (e.g. 0 or 3,7) or 'all', got '\(text)'")
        }
        return ids.compactMap { $0 }
    }
}

/// The embedded default data: the Shapes world, synthesized on first use.
enum DefaultData {
    static func ensureShapesDataset(at path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else { return }
        print("\(path) does not exist: synthesizing the Shapes world there (seed 1, default sizes) …")
        let start = Date()
        let summary = try ShapesSynthesizer.synthesize(SynthesisConfig(), to: path) { _, _ in }
        print(String(format: "synthesized %d pairs in %.0f s", summary.rows.values.reduce(0, +), Date().timeIntervalSince(start)))
    }
}


/// Personalized DPO's defaults and model-card lines.
enum PersonalizedUsers {
    /// The training users of a Shapes dataset: every non-held-out personal user of users.json (not the
    /// population user 0, whose pairs serve non-personalized alignment); nil (every user) without users.json.
    static func training(data: String) throws -> [Int]? {
        let path = URL(fileURLWithPath: data).appendingPathComponent(UsersFile.fileName).path
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let ids = try UsersFile.read(path).filter { !$0.heldOut && $0.id != SimulatedUser.populationID }.map(\.id).sorted()
        guard !ids.isEmpty else { throw CLIError("\(path) lists no personal training user; pass --users") }
        return ids
    }

    static func card(_ trainer: PreferenceTrainer) -> String {
        guard let p = trainer.userProjection, let index = trainer.userIndex else { return "" }
        return """

        ## Personalization
        Conditioned on user embeddings (docs/PERSONALIZATION.md): u = the whitened MAP estimate of the user's taste \
        weights from K = \(p.config.shots) of their pairs under the frozen user model in `user_encoder/`, projected by `user_projection/` to \
        \(p.config.numTokens) tokens appended after the text tokens; p_udrop = \(p.config.userDropout). Trained on \
        \(index.users.count) users. Sample with `t2ialign sample --user ID` or `--user-examples FILE`.

        """
    }
}
