import Diffusion
import Foundation
import NN
import Preference
import Scoring

/// One `eval`-style comparison of two model folders: builds the evaluator (with the sample cache), shows
/// progress, prints the headline and where the report is. Shared by `eval` and by `train`'s closing evaluation.
enum EvaluationRun {
    static let defaultSampleCache = "cache/samples"

    struct Request {
        var model: String
        var baseline: String
        var scorer: ImageScorer
        var prompts: [String]
        var settings: Evaluator.Settings
        var out: String
        /// Root of the sample cache (nil: always generate).
        var sampleCache: String?
        /// The user a personalized model generates for (nil: not personalized); it is part of the model's
        /// name in the report, so a resumed evaluation never mixes users.
        var conditioningA: UserConditioning? = nil
        var conditioningB: UserConditioning? = nil
    }

    @discardableResult
    static func run(_ r: Request) throws -> EvaluationReport {
        func name(_ path: String, _ user: UserConditioning?) -> String {
            ModelName.short(path) + (user.map { " (\($0.label))" } ?? "")
        }
        let evaluator = try Evaluator(modelA: TextToImageModel.load(from: r.model), nameA: name(r.model, r.conditioningA),
                                      modelB: TextToImageModel.load(from: r.baseline), nameB: name(r.baseline, r.conditioningB),
                                      scorer: r.scorer, prompts: r.prompts, settings: r.settings, directory: r.out)
        evaluator.extraTokensA = try r.conditioningA?.extraTokens(for: evaluator.modelA)
        evaluator.extraTokensB = try r.conditioningB?.extraTokens(for: evaluator.modelB)
        if let root = r.sampleCache {
            evaluator.cacheA = try SampleCache(root: root, model: evaluator.modelA, options: r.settings.generation,
                                               extraTokens: r.conditioningA?.tokens)
            evaluator.cacheB = try SampleCache(root: root, model: evaluator.modelB, options: r.settings.generation,
                                               extraTokens: r.conditioningB?.tokens)
        }
        var bar = ProgressLine(total: r.prompts.count, label: "eval prompts")
        let report = try evaluator.run { done, _ in bar.update(step: done) }
        print(report.headline)
        if let a = report.correctnessA, let b = report.correctnessB {
            print("  \(report.nameA): \(a.summary)")
            print("  \(report.nameB): \(b.summary)")
        }
        if let line = report.agreementLine { print("  " + line) }
        print("report: \(r.out)/report.md, \(r.out)/report.json; A/B grid: \(r.out)/grid.png")
        return report
    }
}

enum ModelName {
    /// "runs/dpo/model" → "dpo", "Models/shapes-base" → "shapes-base".
    static func short(_ path: String) -> String {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        return url.lastPathComponent == "model" ? url.deletingLastPathComponent().lastPathComponent : url.lastPathComponent
    }
}
