import Scoring
import XCTest

/// `--scorer DIR` / `--oracle` combinations of `eval` (exactly one) and `score` (one or both).
final class ScorerSelectionTests: XCTestCase {
    func expectError(_ body: @autoclosure () throws -> ScorerSelection, mentioning parts: [String],
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertTrue(error is ScorerSelectionError, "\(type(of: error)): \(error)", file: file, line: line)
            for p in parts { XCTAssertTrue("\(error)".contains(p), "\"\(p)\" not in: \(error)", file: file, line: line) }
        }
    }

    func testEvaluationNeedsExactlyOneScorer() throws {
        expectError(try ScorerSelection.forEvaluation(scorer: nil, oracle: false), mentioning: ["choose a scorer", "--scorer DIR", "--oracle"])
        expectError(try ScorerSelection.forEvaluation(scorer: "Models/s", oracle: true), mentioning: ["not both", "--scorer", "--oracle"])
        XCTAssertEqual(try ScorerSelection.forEvaluation(scorer: "Models/s", oracle: false),
                       ScorerSelection(learnedDirectory: "Models/s", oracle: false))
        XCTAssertEqual(try ScorerSelection.forEvaluation(scorer: nil, oracle: true, user: 7),
                       ScorerSelection(learnedDirectory: nil, oracle: true))
    }

    func testUserNeedsTheOracleInEvaluation() {
        expectError(try ScorerSelection.forEvaluation(scorer: "Models/s", oracle: false, user: 7),
                    mentioning: ["--user 7", "not personalized", "--oracle"])
    }

    func testScoringAcceptsEitherOrBoth() throws {
        expectError(try ScorerSelection.forScoring(scorer: nil, oracle: false), mentioning: ["choose a scorer", "--scorer DIR", "--oracle"])
        XCTAssertEqual(try ScorerSelection.forScoring(scorer: "m", oracle: true), ScorerSelection(learnedDirectory: "m", oracle: true))
        XCTAssertEqual(try ScorerSelection.forScoring(scorer: nil, oracle: true), ScorerSelection(learnedDirectory: nil, oracle: true))
        XCTAssertEqual(try ScorerSelection.forScoring(scorer: "m", oracle: false), ScorerSelection(learnedDirectory: "m", oracle: false))
    }

    func testEmptyScorerFolderIsRefused() {
        expectError(try ScorerSelection.forScoring(scorer: " ", oracle: true), mentioning: ["--scorer needs a folder"])
        expectError(try ScorerSelection.forEvaluation(scorer: "", oracle: false), mentioning: ["--scorer needs a folder"])
    }
}
