import Foundation
import Scoring
import XCTest

/// Agreement and tie-threshold arithmetic on a hand-made example.
final class ScorerAgreementTests: XCTestCase {
    // Winner first. Gaps |p1 − p2| = tanh(|Δ| / 2T); at T = 1:
    //   0: Δ  1.0 → 0.4621, right    1: Δ −1.0 → 0.4621, wrong     2: tie, Δ −0.25 → 0.1244
    //   3: Δ  0   → 0,      equal    4: tie, Δ 0.1 → 0.0500        5: Δ  0.2 → 0.0997, right
    let pairs = [
        ScoredPair(first: 2, second: 1, isTie: false), ScoredPair(first: 0.5, second: 1.5, isTie: false),
        ScoredPair(first: 1, second: 1.25, isTie: true), ScoredPair(first: 3, second: 3, isTie: false),
        ScoredPair(first: 1, second: 0.9, isTie: true), ScoredPair(first: 0.2, second: 0, isTie: false),
    ]

    func testNonTieAgreement() {
        // Non-tie pairs 0, 1, 3, 5 earn 1, 0, ½ (equal scores), 1 → 2.5 / 4.
        XCTAssertEqual(ScorerAgreement.nonTieAgreement(pairs), 0.625)
        XCTAssertNil(ScorerAgreement.nonTieAgreement([ScoredPair(first: 1, second: 0, isTie: true)]))
    }

    /// Per non-tie pair: σ(|Δr|/T) when the scores order it as the rewards do, 1 − σ when reversed, ½ for equal scores.
    func testExpectedAgreementOverTheLabelsDraw() throws {
        let rewards = [ScoredPair(first: 1, second: 0, isTie: false), ScoredPair(first: 0, second: 0.5, isTie: false),
                       ScoredPair(first: 2, second: 0, isTie: false), ScoredPair(first: 0.01, second: 0, isTie: true)]
        let scores = [ScoredPair(first: 3, second: 1, isTie: false), ScoredPair(first: 2, second: 1, isTie: false),
                      ScoredPair(first: 1, second: 1, isTie: false), ScoredPair(first: 0, second: 9, isTie: true)]
        func sigma(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
        // Pair 0 ordered as the rewards (σ(2)), pair 1 reversed (1 − σ(1)), pair 2 equal scores (½); the tie is left out.
        let scorer = try XCTUnwrap(ScorerAgreement.expectedNonTieAgreement(scores, rewards: rewards, temperature: 0.5))
        XCTAssertEqual(scorer, (sigma(2) + 1 - sigma(1) + 0.5) / 3, accuracy: 1e-12)
        let oracle = try XCTUnwrap(ScorerAgreement.expectedNonTieAgreement(rewards, rewards: rewards, temperature: 0.5))
        XCTAssertEqual(oracle, (sigma(2) + sigma(1) + sigma(4)) / 3, accuracy: 1e-12)
        XCTAssertNil(ScorerAgreement.expectedNonTieAgreement([scores[3]], rewards: [rewards[3]], temperature: 0.5))
    }

    func testCreditTable() {
        let right = ScoredPair(first: 2, second: 0, isTie: false), tie = ScoredPair(first: 2, second: 0, isTie: true)
        let wrong = ScoredPair(first: 0, second: 2, isTie: false)
        let gap = tanh(1.0)  // Δ = 2 at T = 1
        XCTAssertEqual(ScorerAgreement.credit(right, threshold: 0, temperature: 1), 1)          // same winner
        XCTAssertEqual(ScorerAgreement.credit(wrong, threshold: 0, temperature: 1), 0)          // opposite winners
        XCTAssertEqual(ScorerAgreement.credit(tie, threshold: 0, temperature: 1), 0.5)          // label tie, winner predicted
        XCTAssertEqual(ScorerAgreement.credit(right, threshold: gap + 1e-9, temperature: 1), 0.5)  // tie predicted, label not
        XCTAssertEqual(ScorerAgreement.credit(wrong, threshold: gap + 1e-9, temperature: 1), 0.5)
        XCTAssertEqual(ScorerAgreement.credit(tie, threshold: gap + 1e-9, temperature: 1), 1)   // both tie
        XCTAssertEqual(ScorerAgreement.credit(right, threshold: gap, temperature: 1), 1, "strictly below the threshold")
    }

    func testThresholdTuning() {
        // No tie predicted: 1 + 0 + ½ + ½ + ½ + 1 = 3.5 of 6. Sweeping the gaps upward:
        //   gap 0 (pair 3):        ½ → ½   3.5
        //   gap 0.0500 (pair 4):   ½ → 1   4.0  ← best (first to reach it)
        //   gap 0.0997 (pair 5):   1 → ½   3.5
        //   gap 0.1244 (pair 2):   ½ → 1   4.0  (equal, not better)
        //   gap 0.4621 (0 and 1):  1 → ½, 0 → ½   4.0
        // The threshold is the midpoint between 0.0500 and the next gap 0.0997.
        let (t, accuracy) = ScorerAgreement.tuneThreshold(pairs, temperature: 1)
        XCTAssertEqual(t, (tanh(0.05) + tanh(0.1)) / 2, accuracy: 1e-12)
        XCTAssertEqual(accuracy, 4.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(ScorerAgreement.accuracy(pairs, threshold: t, temperature: 1), 4.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(ScorerAgreement.accuracy(pairs, threshold: 0, temperature: 1), 3.5 / 6, accuracy: 1e-12)

        // At T = 0.5 every gap is tanh(|Δ|): the same order, so the same choice between pairs 4 and 5.
        let (t2, _) = ScorerAgreement.tuneThreshold(pairs, temperature: 0.5)
        XCTAssertEqual(t2, (tanh(0.1) + tanh(0.2)) / 2, accuracy: 1e-12)

        let report = ScorerAgreement(pairs: pairs, temperature: 1, tieThreshold: t, thresholdTunedOn: "validation")
        XCTAssertEqual(report.pairs, 6); XCTAssertEqual(report.ties, 2); XCTAssertEqual(report.nonTiePairs, 4)
        XCTAssertEqual(report.nonTieAgreement, 0.625)
        XCTAssertEqual(report.accuracyWithTies ?? 0, 4.0 / 6, accuracy: 1e-12)
    }

    func testTiePredictionHalvesACloseWrongCall() {
        let decided = [ScoredPair(first: 1, second: 0, isTie: false), ScoredPair(first: 0.4, second: 0.5, isTie: false)]
        let (t, accuracy) = ScorerAgreement.tuneThreshold(decided, temperature: 1)
        // Predicting a tie for pair 1 (wrong winner, 0 → ½) helps: threshold above its gap tanh(0.05).
        XCTAssertGreaterThan(t, tanh(0.05)); XCTAssertLessThan(t, tanh(0.5))
        XCTAssertEqual(accuracy, 0.75)
        // A single right call: predicting no tie (threshold 0) is best.
        let (t0, a0) = ScorerAgreement.tuneThreshold([ScoredPair(first: 1, second: 0, isTie: false)], temperature: 1)
        XCTAssertEqual(t0, 0); XCTAssertEqual(a0, 1)
    }
}
