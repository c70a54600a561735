import ArgumentParser
import Diffusion
import Foundation
import NN
import Preference
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
        unless --user names another from --user-data's users.json. Shapes correctness rates are oracle pixel \
        measurements and are reported with either scorer.

        Users: --user ID makes the oracle score with that user's reward (--user-mix with the mixed weights) and \
        makes a personalized model (one with user_projection/, from `train --personalized`) generate for that \
        user from K of their pairs in --user-data; --user-examples FILE conditions a personalized model on the \
        pairs in FILE (the oracle then scores for the population user). A model without user_projection/ \
        ignores the user.

        Examples:
          t2ialign eval --model runs/dpo/model --baseline Models/shapes-base --oracle
          t2ialign eval --model runs/dpo/model --baseline Models/shapes-base --scorer Models/shapes-scorer-wide
          t2ialign eval --model runs/dpo-personalized/model --baseline Models/shapes-dpo --oracle --user 41
        """)

    @Option(help: "Model folder A.") var model: String
    @Option(help: "Model folder B (the baseline).") var baseline: String
    @Option(help: "Score with this learned preference scorer folder (from `t2ialign scorer train`).") var scorer: String?
    @Flag(help: "Score with the Shapes-world oracle reward.") var oracle = false
    @Option(help: "Prompts file (one per line); default: the Shapes test prompts.") var prompts: String?
    @Option(help: "Use only the first N prompts.") var limit: Int?
    @Option(help: "Use N prompts evenly spread through the list (train's closing evaluation: --spread 100 of the test prompts).") var spread: Int?
    @Option(help: "Seeds per prompt.") var seeds = 4
    @Option(help: "Sampler steps.") var steps = 50
    @Option(help: "Classifier-free guidance scale.") var guidance: Float = 3
    @OptionGroup var guidanceRescale: GuidanceRescaleOption
    @Option(help: "ddim or ddpm.") var sampler = "ddim"
    @Option(help: "First seed.") var seed: UInt64 = 0
    @Option(help: "Output directory.") var out = "runs/eval"
    @Option(name: .customLong("sample-cache"),
            help: "Folder keeping generated images by model weights, options, prompt and seed, so a baseline is sampled once across evaluations.")
    var sampleCache = EvaluationRun.defaultSampleCache
    @Flag(name: .customLong("no-sample-cache"), help: "Always generate (write no cached images).") var noSampleCache = false
    @OptionGroup(title: "Whose preferences (the oracle's user; the user a personalized model generates for)")
    var users: UserConditioningOptions

    func validate() throws {
        do {
            _ = try ScorerSelection.forEvaluation(scorer: scorer, oracle: oracle, user: users.user)
        } catch let e as ScorerSelectionError {
            throw ValidationError(e.description)
        }
        guard seeds >= 1 else { throw ValidationError("--seeds must be at least 1") }
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1") }
        guard GenerationOptions.Sampler(rawValue: sampler) != nil else { throw ValidationError("--sampler must be ddim or ddpm") }
        if let limit { guard limit >= 1 else { throw ValidationError("--limit must be at least 1") } }
        if let spread { guard spread >= 1 else { throw ValidationError("--spread must be at least 1") } }
        guard limit == nil || spread == nil else { throw ValidationError("give at most one of --limit and --spread") }
        if scorer != nil, let mix = users.userMix {
            throw ValidationError("--user-mix \(mix) picks the oracle's users, but the learned scorer (--scorer) is not personalized; "
                                  + "use --oracle to score with the mixed users' reward")
        }
    }

    func run() throws {
        try CLIError.wrap {
            var list = try prompts.map(PromptFile.read) ?? ShapesPrompt.prompts(in: .test).map(\.text)
            if let limit { list = Array(list.prefix(limit)) }
            if let spread { list = PromptFile.evenlySpread(list, count: spread) }
            let selection = try ScorerSelection.forEvaluation(scorer: scorer, oracle: oracle, user: users.user)
            let imageScorer: ImageScorer
            if let dir = selection.learnedDirectory {
                imageScorer = try LearnedScorer(directory: dir)
            } else if let user = try users.oracleWeights() {
                imageScorer = OracleRewardScorer(weights: user.weights, userDescription: user.description)
            } else {
                imageScorer = OracleRewardScorer()
                if let file = users.userExamples {
                    print("note: the oracle scores for the population user: it cannot know whose preferences \(file) holds")
                }
            }
            let conditioningA = try users.conditioning(modelFolder: model, required: false)
            let conditioningB = try users.conditioning(modelFolder: baseline, required: false)
            if conditioningA == nil && conditioningB == nil, let file = users.userExamples {
                throw CLIError("--user-examples \(file) conditions personalized models only, and neither \(model) nor \(baseline) "
                               + "has user_projection/; train one with `t2ialign train --objective dpo --personalized`")
            }
            if let dir = selection.learnedDirectory, imageScorer.heldOutAgreement == nil {
                print("note: \(dir) has no \(AgreementReport.fileName), so the report cannot quote the scorer's agreement with "
                      + "held-out labels; write it with `t2ialign scorer agreement --scorer \(dir) --data DIR --json \(dir)/\(AgreementReport.fileName)`")
            }
            var settings = Evaluator.Settings()
            settings.seeds = seeds
            settings.baseSeed = seed
            settings.generation = GenerationOptions(sampler: GenerationOptions.Sampler(rawValue: sampler) ?? .ddim,
                                                    steps: steps, guidance: guidance,
                                                    guidanceRescale: guidanceRescale.value)
            try EvaluationRun.run(.init(model: model, baseline: baseline, scorer: imageScorer, prompts: list, settings: settings,
                                        out: out, sampleCache: noSampleCache ? nil : sampleCache,
                                        conditioningA: conditioningA, conditioningB: conditioningB))
        }
    }
}
