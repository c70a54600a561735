import Files
import Foundation
import NN

/// The outcome of an evaluation: win rate with its interval, median scores, Shapes correctness rates
/// (always oracle pixel measurements, whichever scorer decided the wins) and, for a learned scorer, its
/// agreement with held-out labels next to the oracle's.
public struct EvaluationReport: Codable, Sendable {
    public var nameA: String, nameB: String
    public var scorer: String, unit: String
    public var settings: Evaluator.Settings
    public var prompts: Int
    public var winRate: WinRate
    public var medianScoreA: Double, medianScoreB: Double
    public var correctnessA: CorrectnessRates?, correctnessB: CorrectnessRates?
    /// The scorer's agreement with held-out labels (a learned scorer folder's agreement.json); nil for the
    /// oracle, or a scorer folder without one.
    public var scorerAgreement: AgreementReport?

    public init(nameA: String, nameB: String, scorer: String, unit: String, settings: Evaluator.Settings,
                records: [Evaluator.Record], scorerAgreement: AgreementReport? = nil) {
        self.scorerAgreement = scorerAgreement
        self.nameA = nameA; self.nameB = nameB
        self.scorer = scorer; self.unit = unit
        self.settings = settings
        prompts = Set(records.map(\.promptIndex)).count
        winRate = WinRate(comparisons: records.map { .init(prompt: "\($0.promptIndex)", scoreA: $0.scoreA, scoreB: $0.scoreB) },
                          bootstrapRounds: settings.bootstrapRounds, seed: settings.baseSeed)
        medianScoreA = WinRate.median(records.map(\.scoreA))
        medianScoreB = WinRate.median(records.map(\.scoreB))
        let ca = records.compactMap(\.correctA), cb = records.compactMap(\.correctB)
        correctnessA = ca.isEmpty ? nil : CorrectnessRates(ca)
        correctnessB = cb.isEmpty ? nil : CorrectnessRates(cb)
    }

    /// "A beats B 64.1% [58.2, 69.9] …" — the terminal headline.
    public var headline: String {
        "\(nameA) vs \(nameB): win rate \(winRate.summary) by \(scorer); median score \(String(format: "%.3f", medianScoreA)) vs \(String(format: "%.3f", medianScoreB))"
    }

    public var markdown: String {
        var s = """
        # Evaluation: \(nameA) vs \(nameB)

        | | |
        |---|---|
        | scorer | \(scorer) |
        | score unit | \(unit) |
        | prompts × seeds | \(prompts) × \(settings.seeds) (same initial noise for both models) |
        | sampler | \(settings.generation.sampler.rawValue), \(settings.generation.steps) steps, guidance \(settings.generation.guidance)\(settings.generation.guidanceRescale.map { " (rescale \($0))" } ?? "") |
        | **win rate of \(nameA)** | **\(String(format: "%.1f%%", 100 * winRate.rate))**, 95% CI [\(String(format: "%.1f", 100 * winRate.lower)), \(String(format: "%.1f", 100 * winRate.upper))] (bootstrap over prompts, \(winRate.bootstrapRounds) rounds) |
        | wins / losses / ties | \(winRate.wins) / \(winRate.losses) / \(winRate.ties) |
        | median score | \(nameA) \(String(format: "%.3f", medianScoreA)), \(nameB) \(String(format: "%.3f", medianScoreB)) |

        """
        if let a = correctnessA, let b = correctnessB {
            s += "\nShapes correctness (oracle, shapes-world.md §4):\n\n| model | shape | colour | background | size | position |\n|---|---|---|---|---|---|\n"
            for (n, c) in [(nameA, a), (nameB, b)] {
                s += "| \(n) | \(Self.percent(c.shape)) | \(Self.percent(c.colour)) | \(Self.percent(c.background)) | \(Self.percent(c.size)) | \(Self.percent(c.position)) |\n"
            }
        }
        if let g = scorerAgreement {
            s += "\n" + Self.agreementMarkdown(g)
        }
        s += "\nA/B pairs: grid.png (seed 0 of the first prompts). Per comparison: comparisons.jsonl.\n"
        return s
    }

    /// "scorer agreement with held-out non-tie labels (validation of cache/shapes): 84.1% of 2153 (oracle 85.3%)"
    /// — for the terminal; the data is named because a scorer may have been validated on another dataset.
    public var agreementLine: String? {
        guard let g = scorerAgreement else { return nil }
        return "scorer agreement with held-out non-tie labels (\(g.split) of \(g.data)): \(Self.percent(g.scorer.nonTieAgreement))"
            + " of \(g.scorer.nonTiePairs) (oracle \(g.oracle.map { Self.percent($0.nonTieAgreement) } ?? "n/a"))"
    }

    static func percent(_ v: Double?) -> String { v.map { String(format: "%.1f%%", 100 * $0) } ?? "n/a" }

    static func agreementMarkdown(_ g: AgreementReport) -> String {
        func row(_ name: String, _ a: ScorerAgreement) -> String {
            "| \(name) | \(percent(a.nonTieAgreement)) of \(a.nonTiePairs) | \(percent(a.accuracyWithTies)) of \(a.pairs) |\n"
        }
        var s = "Scorer agreement with held-out labels (split `\(g.split)` of `\(g.data)`"
            + (g.users.map { ", users \($0.map(String.init).joined(separator: ","))" } ?? "")
            + "; from the scorer folder's agreement.json):\n\n"
            + "| scorer | agreement with non-tie labels | accuracy with tie prediction |\n|---|---|---|\n"
        s += row("learned scorer", g.scorer)
        if let o = g.oracle {
            s += row("oracle r_u (label-noise ceiling)", o)
        } else {
            s += "| oracle r_u | n/a (\(g.oracleNote ?? "not measured")) | |\n"
        }
        if let e = g.expectedSummary { s += "\nAgreement " + e + ".\n" }
        return s
    }

    public func write(to directory: String) throws {
        let dir = URL(fileURLWithPath: directory)
        try AtomicFile.write(JSONFormat.pretty.encode(self), to: dir.appendingPathComponent("report.json").path)
        try AtomicFile.write(markdown, to: dir.appendingPathComponent("report.md").path)
    }
}
