import XCTest
import Scoring

final class WinRateTests: XCTestCase {
    func testCountsAndTiesAsHalf() {
        let c: [WinRate.Comparison] = [
            .init(prompt: "a", scoreA: 2, scoreB: 1),
            .init(prompt: "a", scoreA: 1, scoreB: 1),
            .init(prompt: "b", scoreA: 0, scoreB: 1),
            .init(prompt: "c", scoreA: 3, scoreB: 1),
        ]
        let w = WinRate(comparisons: c)
        XCTAssertEqual(w.wins, 2); XCTAssertEqual(w.ties, 1); XCTAssertEqual(w.losses, 1)
        XCTAssertEqual(w.rate, 2.5 / 4, accuracy: 1e-12)
        XCTAssertLessThanOrEqual(w.lower, w.rate); XCTAssertGreaterThanOrEqual(w.upper, w.rate)
    }

    func testSelfComparisonIsFiftyPercentAndIntervalContainsIt() {
        let c = (0..<50).map { WinRate.Comparison(prompt: "p\($0)", scoreA: Double($0), scoreB: Double($0)) }
        let w = WinRate(comparisons: c)
        XCTAssertEqual(w.rate, 0.5)
        XCTAssertEqual(w.lower, 0.5); XCTAssertEqual(w.upper, 0.5)
    }

    func testBootstrapIntervalMatchesBinomialWidth() {
        // 200 prompts, A wins 120: the 95% interval should be about ±1.96·√(0.6·0.4/200) = ±6.8 points.
        let c = (0..<200).map { WinRate.Comparison(prompt: "p\($0)", scoreA: $0 < 120 ? 1 : 0, scoreB: 0.5) }
        let w = WinRate(comparisons: c, bootstrapRounds: 2000, seed: 1)
        XCTAssertEqual(w.rate, 0.6, accuracy: 1e-12)
        XCTAssertEqual(w.upper - w.lower, 2 * 0.068, accuracy: 0.02)
        XCTAssertEqual(WinRate(comparisons: c, bootstrapRounds: 2000, seed: 1), w, "same seed, same interval")
    }

    func testQuantileAndMedian() {
        XCTAssertEqual(WinRate.median([3, 1, 2]), 2)
        XCTAssertEqual(WinRate.median([4, 1, 2, 3]), 2.5)
        XCTAssertEqual(WinRate.quantile([0, 10], 0.25), 2.5)
    }
}
