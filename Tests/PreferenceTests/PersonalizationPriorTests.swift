import Foundation
import Preference
import XCTest

/// The user model's estimator (`UserPrior`): MAP weights, informative pairs and the whitened embedding.
final class PersonalizationPriorTests: XCTestCase {
    /// Four pairs in D = 2 (Δs, Δψ, target), α = 0.7, μ = (0.1, −0.2), Σ = [[1, 0.3], [0.3, 0.5]].
    private let pairs = [
        UserPairFeature(scoreDifference: 0.5, tasteDifference: [1, -0.5], target: 1),
        UserPairFeature(scoreDifference: -1, tasteDifference: [0.2, 0.8], target: 1),
        UserPairFeature(scoreDifference: 2, tasteDifference: [-1, 0.3], target: 0.5),
        UserPairFeature(scoreDifference: 0, tasteDifference: [0.4, 0.4], target: 1),
    ]

    private func prior() throws -> UserPrior {
        try UserPrior(alpha: 0.7, mean: [0.1, -0.2], covariance: [1, 0.3, 0.3, 0.5])
    }

    func testMAPEstimateMatchesNumPy() throws {
        // numpy, float64, the Newton iteration of Scripts/probe_user_map.py (map_estimate, 30 steps):
        //   p = σ(α·ds + φ·w); g = φᵀ(y − p) − Σ⁻¹(w − μ); H = −φᵀ diag(p(1−p)) φ − Σ⁻¹; w ← w − H⁻¹g
        //   → w = [0.89417902, 0.22658601]; L⁻¹(w − μ) with L = cholesky(Σ) → [0.79417902, 0.29412564]
        let p = try prior()
        let w = p.mapEstimate(pairs)
        XCTAssertEqual(w[0], 0.89417902, accuracy: 1e-7)
        XCTAssertEqual(w[1], 0.22658601, accuracy: 1e-7)
        let u = p.embedding(weights: w)
        XCTAssertEqual(Double(u[0]), 0.79417902, accuracy: 1e-6)
        XCTAssertEqual(Double(u[1]), 0.29412564, accuracy: 1e-6)
        XCTAssertEqual(p.mapEstimate([]), [0.1, -0.2], "no pairs: the prior mean")
        XCTAssertEqual(p.embedding(weights: p.mean), [0, 0], "the average user is the zero embedding (no-user tokens)")
        for (a, b) in zip(p.weights(embedding: u), w) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    func testMAPIsAStationaryPointOfTheLogPosterior() throws {
        // Finite differences of log p(y | w) + log N(w; μ, Σ) at the estimate vanish, and it beats nearby points.
        let p = try prior()
        func logPosterior(_ w: [Double]) -> Double {
            var l = 0.0
            for pair in pairs {
                let z = p.logit(pair, weights: w)
                l += pair.target * -Foundation.log1p(Foundation.exp(-z)) + (1 - pair.target) * -Foundation.log1p(Foundation.exp(z))
            }
            let d = [w[0] - 0.1, w[1] + 0.2]
            // Σ⁻¹ of [[1, 0.3], [0.3, 0.5]] = [[0.5, −0.3], [−0.3, 1]] / 0.41.
            l -= 0.5 * (0.5 * d[0] * d[0] - 0.6 * d[0] * d[1] + d[1] * d[1]) / 0.41
            return l
        }
        XCTAssertEqual(p.logPosterior(pairs, weights: [0.3, 0.4]) - p.logPosterior(pairs, weights: [-1, 2]),
                       logPosterior([0.3, 0.4]) - logPosterior([-1, 2]), accuracy: 1e-9, "the same objective up to a constant")
        let w = p.mapEstimate(pairs), h = 1e-5
        for i in 0..<2 {
            var plus = w, minus = w
            plus[i] += h; minus[i] -= h
            XCTAssertEqual((logPosterior(plus) - logPosterior(minus)) / (2 * h), 0, accuracy: 1e-6)
            plus[i] += 0.05
            XCTAssertLessThan(logPosterior(plus), logPosterior(w))
        }
    }

    func testMAPConvergesOnSaturatedPairs() throws {
        // Taste differences of 100 saturate σ: a full Newton step from μ overshoots; the halving keeps every
        // step an improvement, and the estimate separates the pairs the way their labels say.
        let p = try UserPrior(alpha: 1, mean: [0, 0], covariance: [1, 0, 0, 1])
        let big = [UserPairFeature(scoreDifference: 5, tasteDifference: [-100, 0], target: 1),
                   UserPairFeature(scoreDifference: -5, tasteDifference: [100, 10], target: 0),
                   UserPairFeature(scoreDifference: 5, tasteDifference: [-90, 5], target: 1)]
        let w = p.mapEstimate(big)
        XCTAssertTrue(big.allSatisfy { ($0.target == 1) == (p.logit($0, weights: w) > 0) }, "\(w)")
        XCTAssertGreaterThan(p.logPosterior(big, weights: w), p.logPosterior(big, weights: p.mean))
        XCTAssertTrue(w.allSatisfy(\.isFinite))
    }

    func testInformativeOrderMatchesNumPyAndIgnoresLabels() throws {
        // numpy: p = σ(α·ds + φ·μ); v = p(1−p)·φᵀΣφ → [0.1914, 0.0960, 0.1506, 0.0840], order [0, 2, 1, 3]
        let p = try prior()
        XCTAssertEqual(p.informativeOrder(pairs), [0, 2, 1, 3])
        let flipped = pairs.map { UserPairFeature(scoreDifference: $0.scoreDifference, tasteDifference: $0.tasteDifference, target: 1 - $0.target) }
        XCTAssertEqual(p.informativeOrder(flipped), [0, 2, 1, 3], "a label-free choice")
        // Images equal in taste say nothing about w; a pair the scorer already decides says little.
        let dull = [UserPairFeature(scoreDifference: 0, tasteDifference: [0, 0], target: 1),
                    UserPairFeature(scoreDifference: 40, tasteDifference: [1, 1], target: 1),
                    UserPairFeature(scoreDifference: 0, tasteDifference: [1, 1], target: 1)]
        XCTAssertEqual(p.informativeOrder(dull), [2, 1, 0])
    }

    func testPriorFromUsersWhitensThem() throws {
        let users: [[Double]] = [[1, 2], [3, 1], [0, -1], [2, 4], [-1, 0]]
        let p = try UserPrior(alpha: 1, userWeights: users, ridge: 0)
        XCTAssertEqual(p.mean, [1, 1.2])
        // The training users' embeddings have mean 0 and identity covariance.
        let u = users.map { p.embedding(weights: $0).map(Double.init) }
        for i in 0..<2 {
            XCTAssertEqual(u.map { $0[i] }.reduce(0, +), 0, accuracy: 1e-5)
            for j in 0..<2 {
                let c = u.map { $0[i] * $0[j] }.reduce(0, +) / Double(users.count - 1)
                XCTAssertEqual(c, i == j ? 1 : 0, accuracy: 1e-5)
            }
        }
    }

    func testBadPriorsAreClearErrors() {
        XCTAssertThrowsError(try UserPrior(alpha: 1, mean: [0, 0], covariance: [1, 2, 2, 1])) {
            XCTAssertTrue("\($0)".contains("positive definite"), "\($0)")
        }
        XCTAssertThrowsError(try UserPrior(alpha: .nan, mean: [0], covariance: [1]))
        XCTAssertThrowsError(try UserPrior(alpha: 1, mean: [0, 0], covariance: [1]))
        XCTAssertThrowsError(try UserPrior(alpha: 1, userWeights: [[1, 2]])) {
            XCTAssertTrue("\($0)".contains("at least 2 training users"), "\($0)")
        }
    }
}
