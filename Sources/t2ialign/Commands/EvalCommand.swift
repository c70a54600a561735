import ArgumentParser
import Diffusion
import Foundation
import NN
import Scoring
import ShapesWorld

/// `t2ialign eval`: win rate of one model over another.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Win rate of --model over --baseline, with a 95% interval, median scores and Shapes correctness.",
        discussion: """
        For every prompt and seed both models start from the same initial noise with the same sampler; the \
        scorer compares the two images (a tie counts ½). The interval is a 1,000-round bootstrap over prompts. \
        The output directory gets report.json, report.md, grid.png and comparisons.jsonl; an interrupted \
        evaluation resumes where it stopped when run again with the same arguments.

        Scorers (exactly one): --scorer DIR, a learned preference scorer folder written by `t2ialign scorer \
        train` (its agreement with held-out labels, from DIR/agreement.json, goes into the report), or \
        --oracle, the Shapes world's ground-truth reward r_u measured from pixels, for the population user 0 \
        unless --user names another from --data's users.json. Shapes correctness rates are oracle pixel \
        measurements and are reported with either scorer.

        Examples:
          t2ialign eval --model runs/dpo/model --baseline Models/shapes-base --oracle
          t2ialign eval --model runs/dpo/model --baseline Models/shapes-base --scorer Models/shapes-scorer
        """)

    @Option(help: "Model folder A.") var model: String
    @Option(help: "Model folder B (the baseline).") var baseline: String
    @Option(help: "Score with this learned preference scorer folder (from `t2ialign scorer train`).") var scorer: String?
    @Flag(help: "Score with the Shapes-world oracle reward.") var oracle = false
    @Option(help: "User whose reward the oracle uses (id in --data's users.json; default 0, the population).") var user: Int?
    @Option(help: "Dataset folder holding users.json (for --user).") var data = "cache/shapes"
    @Option(help: "Prompts file (one per line); default: the Shapes test prompts.") var prompts: String?
    @Option(help: "Use only the first N prompts.") var limit: Int?
    @Option(help: "Seeds per prompt.") var seeds = 4
    @Option(help: "Sampler steps.") var steps = 50
    @Option(help: "Classifier-free guidance scale.") var guidance: Float = 3
    @Option(help: "ddim or ddpm.") var sampler = "ddim"
    @Option(help: "First seed.") var seed: UInt64 = 0
    @Option(help: "Output directory.") var out = "runs/eval"
    @Option(name: .customLong("sample-cache"),
            help: "Folder keeping generated images by model weights, options, prompt and seed, so a baseline is sampled once across evaluations.")
    var sampleCache = EvaluationRun.defaultSampleCache
    @Flag(name: .customLong("no-sample-cache"), help: "Always generate (write no cached images).") var noSampleCache = false

    func validate() throws {
        do {
            _ = try ScorerSelection.forEvaluation(scorer: scorer, oracle: oracle, user: user)
        } catch let e as ScorerSelectionError {
            throw ValidationError(e.description)
        }
        guard seeds >= 1 else { throw ValidationError("--seeds must be at least 1") }
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1") }
        guard GenerationOptions.Sampler(rawValue: sampler) != nil else { throw ValidationError("--sampler must be ddim or ddpm") }
        if let limit { guard limit >= 1 else { throw ValidationError("--limit must be at least 1") } }
    }

    func run() throws {
        try CLIError.wrap {
            var list = try prompts.map(PromptFile.read) ?? ShapesPrompt.prompts(in: .test).map(\.text)
            if let limit { list = Array(list.prefix(limit)) }
            let selection = try ScorerSelection.forEvaluation(scorer: scorer, oracle: oracle, user: user)
            let imageScorer: ImageScorer
            if let dir = selection.learnedDirectory {
                imageScorer = try LearnedScorer(directory: dir)
            } else {
                imageScorer = try OracleUser.scorer(user: user, data: data)
            }
            if let dir = selection.learnedDirectory, imageScorer.heldOutAgreement == nil {
                print("note: \(dir) has no \(AgreementReport.fileName), so the report cannot quote the scorer's agreement with "
                      + "held-out labels; write it with `t2ialign scorer agreement --scorer \(dir) --data DIR --json \(dir)/\(AgreementReport.fileName)`")
            }
            var settings = Evaluator.Settings()
            settings.seeds = seeds
            settings.baseSeed = seed
            settings.generation = GenerationOptions(sampler: GenerationOptions.Sampler(rawValue: sampler) ?? .ddim,
                                                    steps: steps, guidance: guidance)
            try EvaluationRun.run(.init(model: model, baseline: baseline, scorer: imageScorer, prompts: list, settings: settings,
                                        out: out, sampleCache: noSampleCache ? nil : sampleCache))
        }
    }
}

enum OracleUser {
    /// The oracle scorer for user `id` (0 or nil: the population user; others from DATA/users.json).
    static func scorer(user id: Int?, data: String) throws -> OracleRewardScorer {
        guard let id, id != SimulatedUser.populationID else { return OracleRewardScorer() }
        let path = URL(fileURLWithPath: data).appendingPathComponent(UsersFile.fileName).path
        let users = try UsersFile.read(path)
        guard let u = users.first(where: { $0.id == id }) else {
            throw CLIError("user \(id) is not in \(path); its users are \(users.map(\.id).map(String.init).joined(separator: ", "))")
        }
        return OracleRewardScorer(weights: u.weights, userDescription: "user \(id)" + (u.archetype.map { " (\($0.rawValue))" } ?? ""))
    }
}
