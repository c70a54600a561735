import ImageIO
import XCTest
import ShapesWorld

/// r_u worked by hand from shapes-world.md §5 on the red-square-on-blue image of OracleTests
/// (vivid_f 0.818182, light_f 0.353944, gradient_f 0, scale_f 0.05, clutter_f 0, noise_f 0).
final class RewardTests: XCTestCase {
    // Population w = (0.6, 0.2, −0.3, 0.2): 0.6·0.818182 + 0.2·0.353944 − 0.3·0 + 0.2·0.05 = 0.5716979083110517
    // (numpy: w @ f).
    let populationTerm = 0.5716979083110517

    func reward(_ prompt: String, _ weights: PreferenceWeights = .population) throws -> RewardBreakdown {
        Reward.evaluate(try Oracle.measure(OracleTests.redSquareOnBlue()), prompt: try ShapesPrompt(parsing: prompt),
                        weights: weights)
    }

    func testEverythingRightWithoutSizeOrPositionWords() throws {
        // 2 + 2 + 1 + 1 (no size word) + 1 (no position word) = 7.
        let r = try reward("a red square on a blue background")
        XCTAssertTrue(r.shapeOK && r.colourOK && r.backgroundOK && r.sizeOK && r.positionOK)
        XCTAssertEqual(r.preference, populationTerm, accuracy: 1e-12)
        XCTAssertEqual(r.total, 7 + populationTerm, accuracy: 1e-12)
    }

    func testNamedSizeAndPositionMustMatch() throws {
        // The square is small, at the top left: "large … in the center" loses both points → 5.
        XCTAssertEqual(try reward("a large red square in the center on a blue background").total, 5 + populationTerm,
                       accuracy: 1e-12)
        XCTAssertEqual(try reward("a small red square at the top left on a blue background").total, 7 + populationTerm,
                       accuracy: 1e-12)
        // Wrong shape (−2) and background (−1): 2 (colour) + 1 (size) + 1 (position) = 4.
        let r = try reward("a small red circle at the top left on a green background")
        XCTAssertFalse(r.shapeOK)
        XCTAssertFalse(r.backgroundOK)
        XCTAssertEqual(r.total, 4 + populationTerm, accuracy: 1e-12)
    }

    func testPersonalWeightsAndPenalties() throws {
        // Dark-minimalist archetype (−0.5, −1.5, −0.5, −0.5): −0.5·0.818182 − 1.5·0.353944 − 0.5·0.05 = −0.9650070
        let w = Archetype.darkMinimalist.weights
        let expected = -0.5 * 0.8181818181818182 - 1.5 * 0.35394408700980384 - 0.5 * 0.05
        XCTAssertEqual(try reward("a red square on a blue background", w).total, 7 + expected, accuracy: 1e-12)
        // Penalties: clutter_f 1 and noise_f 0.02 → −0.4 − 0.24 = −0.64.
        let m = OracleMeasurement(
            background: .blue, shape: try Oracle.measure(OracleTests.redSquareOnBlue()).shape,
            features: OracleFeatures(vivid: 0.5, light: 0.5, gradient: 0.5, scale: 0.5, clutter: 1, noise: 0.02),
            otherComponents: 2)
        let r = Reward.evaluate(m, prompt: try ShapesPrompt(parsing: "a red square on a blue background"),
                                weights: PreferenceWeights(vivid: 1, light: 0, gradient: 0, scale: 0))
        XCTAssertEqual(r.penalty, -0.64, accuracy: 1e-12)
        XCTAssertEqual(r.total, 7 - 0.64 + 0.5, accuracy: 1e-12)
    }

    func testNoShapeMeansNoPoints() throws {
        // A plain blue image: no valid shape, so every ok is 0 (the background's too); only w·f remains:
        // light_f = luma(40, 90, 220)/255 = 89.87/255 = 0.352431; 0.2·0.352431 = 0.0704863.
        let m = try Oracle.measure(RGBImage(width: 32, height: 32, fill: (40, 90, 220)))
        let r = Reward.evaluate(m, prompt: try ShapesPrompt(parsing: "a red square on a blue background"),
                                weights: .population)
        XCTAssertFalse(r.shapeOK || r.colourOK || r.backgroundOK || r.sizeOK || r.positionOK)
        XCTAssertEqual(r.total, 0.2 * 89.87 / 255, accuracy: 1e-12)
    }
}
