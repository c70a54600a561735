import Kernels
import XCTest
import ShapesWorld

final class PromptTests: XCTestCase {
    func testAllPromptsAreDistinctAndParseBack() throws {
        let all = ShapesPrompt.all
        XCTAssertEqual(all.count, 3024)
        XCTAssertEqual(Set(all.map(\.text)).count, 3024)
        for p in all {
            XCTAssertNotEqual(p.colour, p.background)
            XCTAssertEqual(try ShapesPrompt(parsing: p.text), p)
        }
        XCTAssertEqual(all[0].text, "a red circle on a orange background")
    }

    func testGrammarOfTheSpecExample() throws {
        let p = try ShapesPrompt(parsing: "a large red circle at the top left on a blue background")
        XCTAssertEqual(p, ShapesPrompt(size: .large, colour: .red, shape: .circle, position: .topLeft, background: .blue))
        XCTAssertEqual(p.text, "a large red circle at the top left on a blue background")
        // Case, extra white space, "an" and a final full stop are tolerated.
        XCTAssertEqual(try ShapesPrompt(parsing: "  An  Orange square IN THE CENTER on a black background. "),
                       ShapesPrompt(colour: .orange, shape: .square, position: .center, background: .black))
    }

    func testBadPromptsSayWhatIsWrong() {
        let cases: [(String, String)] = [
            ("", "\"a\""),
            ("a red circle", "\"on\""),
            ("a huge red circle on a blue background", "\"huge\" is not a shape colour"),
            ("a red hexagon on a blue background", "\"hexagon\" is not a shape"),
            ("a red circle on a teal background", "\"teal\" is not a background colour"),
            ("a red circle at the middle on a blue background", "position phrase or \"on\""),
            ("a red circle on a red background", "must differ"),
            ("a red circle on a blue background please", "unexpected words"),
            ("the red circle on a blue background", "expected \"a\""),
        ]
        for (text, fragment) in cases {
            XCTAssertThrowsError(try ShapesPrompt(parsing: text), text) { error in
                guard case ShapesWorldError.unparsablePrompt(let prompt, let reason) = error else {
                    return XCTFail("wrong error \(error)")
                }
                XCTAssertEqual(prompt, text)
                XCTAssertTrue(reason.contains(fragment), "\(text): \(reason)")
                XCTAssertTrue("\(error)".contains("on a BG background"), "the message shows the grammar")
            }
        }
    }

    func testFNV1aKnownValues() {
        // Reference values of FNV-1a 64 (the FNV spec's test vectors; checked with a Python implementation).
        XCTAssertEqual(PromptSplit.fnv1a64(""), 0xcbf2_9ce4_8422_2325)
        XCTAssertEqual(PromptSplit.fnv1a64("a"), 0xaf63_dc4c_8601_ec8c)
        XCTAssertEqual(PromptSplit.fnv1a64("foobar"), 0x8594_4171_f739_67e8)
    }

    func testSplitSizesMatchAnIndependentComputation() {
        // Python: the grammar enumerated in the same order, fnv1a64(p.encode()) % 10 → 0–7 train, 8 val, 9 test:
        // train 2404, val 334, test 286; "a red circle on a orange background" → 5 (train).
        XCTAssertEqual(ShapesPrompt.prompts(in: .train).count, 2404)
        XCTAssertEqual(ShapesPrompt.prompts(in: .validation).count, 334)
        XCTAssertEqual(ShapesPrompt.prompts(in: .test).count, 286)
        XCTAssertEqual(PromptSplit.of("a red circle on a orange background"), .train)
    }

    func testSamplingFollowsTheGrammarAndTheSplits() {
        var rng = RNG(seed: 5)
        let n = 20_000
        var withSize = 0, withPosition = 0
        for _ in 0..<n {
            let p = ShapesPrompt.sample(&rng)
            if p.size != nil { withSize += 1 }
            if p.position != nil { withPosition += 1 }
        }
        // Binomial(20000, 0.5): σ ≈ 71, so ±400 is > 5σ.
        XCTAssertEqual(withSize, n / 2, accuracy: 400)
        XCTAssertEqual(withPosition, n / 2, accuracy: 400)
        for _ in 0..<500 {
            XCTAssertEqual(ShapesPrompt.sample(&rng, splits: [.test]).split, .test)
            XCTAssertNotEqual(ShapesPrompt.sample(&rng, splits: [.train, .validation]).split, .test)
        }
        var a = RNG(seed: 9), b = RNG(seed: 9)
        XCTAssertEqual((0..<50).map { _ in ShapesPrompt.sample(&a) }, (0..<50).map { _ in ShapesPrompt.sample(&b) })
    }
}
