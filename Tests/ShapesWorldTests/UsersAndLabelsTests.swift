import Kernels
import XCTest
import ShapesWorld

final class UsersAndLabelsTests: XCTestCase {
    func testDefaultPopulation() {
        let users = UserPopulation.make(UserPopulationConfig(), rng: RNG(seed: 1))
        XCTAssertEqual(users.count, 52)
        XCTAssertEqual(users.map(\.id), Array(1...52))
        XCTAssertEqual(users.filter { !$0.heldOut }.count, 40)
        XCTAssertEqual(users.filter(\.heldOut).map(\.id), Array(41...52))
        for a in Archetype.allCases {
            XCTAssertEqual(users.filter { !$0.heldOut && $0.archetype == a }.count, 10)
            XCTAssertEqual(users.filter { $0.heldOut && $0.archetype == a }.count, 3)
        }
        // Weight noise N(0, 0.15²): the pooled σ of 208 residuals is 0.15 ± 0.02 (3σ ≈ 0.022 for 208 draws).
        var residuals: [Double] = []
        for u in users { residuals += Array(0..<4).map { (u.weights.vector - u.archetype!.weights.vector)[$0] } }
        let sd = (residuals.map { $0 * $0 }.reduce(0, +) / Double(residuals.count)).squareRoot()
        XCTAssertEqual(sd, 0.15, accuracy: 0.022)
        // 50–400 pairs each, heavy-tailed: the mean is well above the median and someone labels a lot.
        let pairs = users.map(\.pairCount).sorted()
        XCTAssertTrue(pairs.allSatisfy { (50...400).contains($0) })
        let mean = Double(pairs.reduce(0, +)) / Double(pairs.count)
        XCTAssertGreaterThan(mean, 1.2 * Double(pairs[pairs.count / 2]))
        XCTAssertGreaterThan(pairs.last!, 3 * pairs[pairs.count / 2])
        XCTAssertEqual(SimulatedUser.population(pairCount: 10).weights, PreferenceWeights(vivid: 0.6, light: 0.2, gradient: -0.3, scale: 0.2))
    }

    func testUsersAreDeterministicAndConfigurationIsValidated() throws {
        let a = UserPopulation.make(UserPopulationConfig(), rng: RNG(seed: 4))
        XCTAssertEqual(a, UserPopulation.make(UserPopulationConfig(), rng: RNG(seed: 4)))
        XCTAssertNotEqual(a, UserPopulation.make(UserPopulationConfig(), rng: RNG(seed: 5)))
        let bad = UserPopulationConfig(trainingPerArchetype: 1, heldOutPerArchetype: 0, minPairs: 10, maxPairs: 5)
        XCTAssertThrowsError(try bad.validate()) { XCTAssertTrue("\($0)".contains("max-user-pairs")) }
    }

    func testBradleyTerryProbabilitiesAndTies() {
        // σ(1) = 1/(1 + e^−1) = 0.7310585786300049; σ(−2) = 0.11920292202211755.
        XCTAssertEqual(Labeler.probabilityFirstPreferred(1.5, 1.0), 0.7310585786300049, accuracy: 1e-12)
        XCTAssertEqual(Labeler.probabilityFirstPreferred(0, 1), 0.11920292202211755, accuracy: 1e-12)
        var rng = RNG(seed: 6)
        XCTAssertEqual(Labeler.label(3.00, 3.049, rng: &rng), .tie)
        XCTAssertNotEqual(Labeler.label(3.00, 3.051, rng: &rng), .tie)
        // Empirical frequency over 20,000 draws: binomial σ ≈ 0.003, so ±0.012 is 4σ.
        for (r0, r1) in [(1.5, 1.0), (0.0, 1.0), (2.0, 1.9)] {
            var first = 0
            for _ in 0..<20_000 where Labeler.label(r0, r1, rng: &rng) == .firstPreferred { first += 1 }
            XCTAssertEqual(Double(first) / 20_000, Labeler.probabilityFirstPreferred(r0, r1), accuracy: 0.012)
        }
    }
}
