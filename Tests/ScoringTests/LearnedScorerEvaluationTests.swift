import Diffusion
import Foundation
import Kernels
import NN
import Scoring
import XCTest

/// `eval --scorer DIR`: a learned scorer folder (with its agreement.json) drives the win rate of a tiny
/// random model, and the report quotes the scorer's held-out agreement next to the oracle's.
final class LearnedScorerEvaluationTests: ScorerTempDirTestCase {
    static func tinyModel(seed: UInt64) throws -> TextToImageModel {
        var rng = RNG(seed: seed)
        let unet = UNetConfig(sampleSize: 16, blockOutChannels: [8, 16, 16], attentionHeadDim: 2, crossAttentionDim: 16, normNumGroups: 4)
        let text = TextEncoderConfig(hiddenSize: 16, intermediateSize: 32, numHiddenLayers: 1, numAttentionHeads: 2)
        return try TextToImageModel(unet: UNet2DConditionModel(config: unet, rng: &rng), textEncoder: TextEncoder(config: text, rng: &rng),
                                    schedule: NoiseSchedule())
    }

    /// An agreement report as `scorer train` writes it (values from made-up scored pairs).
    static func agreement() -> AgreementReport {
        let learned = [ScoredPair(first: 2, second: 1, isTie: false), ScoredPair(first: 0.5, second: 1.5, isTie: false),
                       ScoredPair(first: 3, second: 0, isTie: false), ScoredPair(first: 1, second: 1.1, isTie: true)]
        let oracle = [ScoredPair(first: 6, second: 2, isTie: false), ScoredPair(first: 5, second: 4, isTie: false),
                      ScoredPair(first: 7, second: 1, isTie: false), ScoredPair(first: 3, second: 3.01, isTie: true)]
        return AgreementReport(data: "cache/shapes", split: "validation", users: [0],
                               scorer: ScorerAgreement(pairs: learned, temperature: 1, tieThreshold: 0.1, thresholdTunedOn: "validation"),
                               oracle: ScorerAgreement(pairs: oracle, temperature: 0.5, tieThreshold: 0.1, thresholdTunedOn: "validation"),
                               expected: .init(scorer: ScorerAgreement.expectedNonTieAgreement(learned, rewards: oracle, temperature: 0.5)!,
                                               oracle: ScorerAgreement.expectedNonTieAgreement(oracle, rewards: oracle, temperature: 0.5)!))
    }

    let prompts = ["a large red circle at the top left on a blue background", "a small green square on a white background"]

    func settings() -> Evaluator.Settings {
        var s = Evaluator.Settings()
        s.seeds = 2
        s.generation = GenerationOptions(sampler: .ddim, steps: 2, guidance: 2)
        s.bootstrapRounds = 50
        s.gridPrompts = 1
        return s
    }

    func testEvaluationWithAScorerFolderReportsItsAgreement() throws {
        let folder = path("scorer")
        try TinyScorer.make().save(to: folder, card: "card")
        let saved = Self.agreement()
        try saved.save(toScorerFolder: folder)
        let scorer = try LearnedScorer(directory: folder)
        XCTAssertEqual(scorer.heldOutAgreement?.scorer, saved.scorer)

        let out = path("eval")
        let report = try Evaluator(modelA: Self.tinyModel(seed: 1), nameA: "a", modelB: Self.tinyModel(seed: 2), nameB: "b",
                                   scorer: scorer, prompts: prompts, settings: settings(), directory: out).run()
        XCTAssertEqual(report.winRate.wins + report.winRate.losses + report.winRate.ties, prompts.count * 2)
        XCTAssertTrue(report.scorer.contains(folder), report.scorer)
        XCTAssertTrue(report.unit.contains("scale × cosine"), report.unit)

        let json = try JSONDecoder().decode(EvaluationReport.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/report.json")))
        XCTAssertEqual(json.scorerAgreement?.scorer, saved.scorer)
        XCTAssertEqual(json.scorerAgreement?.oracle, saved.oracle)
        XCTAssertEqual(json.scorerAgreement?.expected, saved.expected)
        // Correctness rates are oracle pixel measurements, reported whichever scorer decides the wins.
        XCTAssertEqual(json.correctnessA?.images, prompts.count * 2)
        XCTAssertEqual(json.correctnessB?.images, prompts.count * 2)

        let markdown = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        let learnedRow = String(format: "| learned scorer | %.1f%% of %d |", 100 * (saved.scorer.nonTieAgreement ?? -1), saved.scorer.nonTiePairs)
        let oracleRow = String(format: "| oracle r_u (label-noise ceiling) | %.1f%% of %d |", 100 * (saved.oracle?.nonTieAgreement ?? -1),
                               saved.oracle?.nonTiePairs ?? -1)
        XCTAssertTrue(markdown.contains(learnedRow), markdown)
        XCTAssertTrue(markdown.contains(oracleRow), markdown)
        XCTAssertTrue(markdown.contains("Shapes correctness"), markdown)
        XCTAssertTrue(markdown.contains(try XCTUnwrap(saved.expectedSummary)), markdown)
        let line = try XCTUnwrap(report.agreementLine)
        XCTAssertTrue(line.contains("(\(saved.split) of \(saved.data)): "), line)
        XCTAssertTrue(line.contains(String(format: "(oracle %.1f%%)", 100 * (saved.oracle?.nonTieAgreement ?? -1))), line)
    }

    /// The scorer folder's card states both agreements and, with the oracle, both expectations over the labels' draw.
    func testTheCardStatesTheAgreements() throws {
        let agreement = Self.agreement()
        let card = ScorerCard.text(config: ScorerTrainingConfig(), command: "t2ialign scorer train", data: "cache/shapes", pairs: 4,
                                   parameterCount: 10, last: nil, seconds: 60, agreement: agreement)
        XCTAssertTrue(card.contains("| this scorer | **66.7%** of 3 |"), card)   // 2 of 3 non-tie pairs
        XCTAssertTrue(card.contains("| oracle r_u (label-noise ceiling) | **100.0%** of 3 |"), card)
        XCTAssertTrue(card.contains(try XCTUnwrap(agreement.expectedSummary)), card)
        var withoutExpectation = agreement
        withoutExpectation.expected = nil
        XCTAssertFalse(ScorerCard.text(config: ScorerTrainingConfig(), command: "c", data: "d", pairs: 4, parameterCount: 10, last: nil,
                                       seconds: 60, agreement: withoutExpectation).contains("expected over"))
    }

    func testAModelAgainstItselfTiesUnderTheLearnedScorer() throws {
        let folder = path("scorer")
        try TinyScorer.make().save(to: folder, card: "card")
        let scorer = try LearnedScorer(directory: folder)
        XCTAssertNil(scorer.heldOutAgreement, "a folder without agreement.json has none")
        let model = try Self.tinyModel(seed: 4)
        let report = try Evaluator(modelA: model, nameA: "a", modelB: model, nameB: "a again", scorer: scorer, prompts: prompts,
                                   settings: settings(), directory: path("self")).run()
        XCTAssertEqual(report.winRate.ties, prompts.count * 2, "same model, same noise: identical images")
        XCTAssertEqual(report.winRate.rate, 0.5)
        XCTAssertNil(report.scorerAgreement)
        XCTAssertFalse(report.markdown.contains("Scorer agreement"))
    }

    func testAgreementFileRoundTripsAndNamesItselfWhenBroken() throws {
        let folder = path("scorer")
        try TinyScorer.make().save(to: folder, card: "card")
        XCTAssertNil(try AgreementReport.load(fromScorerFolder: folder))
        let saved = Self.agreement()
        try saved.save(toScorerFolder: folder)
        let loaded = try XCTUnwrap(AgreementReport.load(fromScorerFolder: folder))
        XCTAssertEqual(loaded.scorer, saved.scorer)
        XCTAssertEqual(loaded.users, [0])
        XCTAssertEqual(loaded.expected, saved.expected)

        // A file written before `expected` existed loads without it; a malformed one names the field.
        var older = saved
        older.expected = nil
        try older.save(toScorerFolder: folder)
        let file = URL(fileURLWithPath: folder + "/" + AgreementReport.fileName)
        XCTAssertFalse(try String(contentsOf: file, encoding: .utf8).contains("expected"))
        XCTAssertNil(try XCTUnwrap(AgreementReport.load(fromScorerFolder: folder)).expected)
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
        json["expected"] = ["scorer": "high"]
        try JSONSerialization.data(withJSONObject: json).write(to: file)
        XCTAssertThrowsError(try AgreementReport.load(fromScorerFolder: folder)) { error in
            XCTAssertTrue("\(error)".contains(AgreementReport.fileName) && "\(error)".contains("expected"), "\(error)")
        }

        try Data("{\"split\": 3}".utf8).write(to: URL(fileURLWithPath: folder + "/" + AgreementReport.fileName))
        XCTAssertThrowsError(try LearnedScorer(directory: folder)) { error in
            XCTAssertTrue(error is ScorerError, "\(error)")
            XCTAssertTrue("\(error)".contains(AgreementReport.fileName), "\(error)")
            XCTAssertTrue("\(error)".contains("t2ialign scorer agreement"), "\(error)")
        }
    }
}
