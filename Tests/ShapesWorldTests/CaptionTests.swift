import Kernels
import XCTest
import ShapesWorld

final class CaptionTests: XCTestCase {
    /// Attributes in which two prompts differ.
    func differences(_ a: ShapesPrompt, _ b: ShapesPrompt) -> Int {
        [a.shape != b.shape, a.colour != b.colour, a.background != b.background, a.size != b.size,
         a.position != b.position].filter { $0 }.count
    }

    func testTruthfulCaptionStatesWhatWasDrawn() throws {
        var rng = RNG(seed: 12)
        var agree = 0
        let n = 300
        for _ in 0..<n {
            let prompt = ShapesPrompt.sample(&rng)
            var scene = Generator.good.scene(for: prompt, rng: &rng)
            scene.parameters.noise = 0
            scene.dotColours = []
            let truth = Captions.truthful(scene, size: 32)
            XCTAssertEqual(truth.shape, scene.shape)
            XCTAssertEqual(truth.colour, scene.colour)
            XCTAssertEqual(truth.background, scene.background)
            XCTAssertNotNil(truth.size)
            XCTAssertNotNil(truth.position)
            if let size = scene.size { XCTAssertEqual(truth.size, size) }
            if let position = scene.position { XCTAssertEqual(truth.position, position) }
            // Against the oracle on the clean image: size/position agree except within a pixel of a boundary.
            let m = try Oracle.measure(try Renderer.render(scene, size: 32).image)
            if m.shape?.size == truth.size && m.shape?.position == truth.position { agree += 1 }
        }
        XCTAssertGreaterThan(Double(agree) / Double(n), 0.9)
    }

    func testPerturbationReplacesExactlyKAttributes() {
        var rng = RNG(seed: 13)
        for _ in 0..<500 {
            let prompt = ShapesPrompt.sample(&rng)
            for k in CaptionStrength.allCases {
                let p = Captions.perturbed(prompt, strength: k, rng: &rng)
                XCTAssertEqual(differences(prompt, p), k.rawValue, "\(prompt) → \(p)")
                XCTAssertNotEqual(p.colour, p.background)
                // Words the prompt does not name are not added.
                XCTAssertEqual(p.size == nil, prompt.size == nil)
                XCTAssertEqual(p.position == nil, prompt.position == nil)
            }
        }
    }

    func testStrategies() throws {
        var rng = RNG(seed: 14)
        let prompt = try ShapesPrompt(parsing: "a red circle on a blue background")
        let won = try ShapesPrompt(parsing: "a small red circle in the center on a blue background")
        let lost = try ShapesPrompt(parsing: "a large red square at the top left on a blue background")
        let c = Captions.pair(strategy: .captioning, prompt: prompt, preferredTruthful: won, otherTruthful: lost, rng: &rng)
        XCTAssertEqual(c.preferred, won)
        XCTAssertEqual(c.other, lost)
        let p = Captions.pair(strategy: .perturbation(.medium), prompt: prompt, preferredTruthful: won,
                              otherTruthful: lost, rng: &rng)
        XCTAssertEqual(p.preferred, prompt)
        XCTAssertEqual(differences(p.other, prompt), 2)
        let h = Captions.pair(strategy: .hybrid(.strong), prompt: prompt, preferredTruthful: won, otherTruthful: lost,
                              rng: &rng)
        XCTAssertEqual(h.preferred, won)
        XCTAssertEqual(differences(h.other, lost), 3)
        // The string form parses, and refuses text outside the grammar.
        let s = try Captions.pair(strategy: .perturbation(.weak), prompt: prompt.text, preferredTruthful: won.text,
                                  otherTruthful: lost.text, rng: &rng)
        XCTAssertEqual(s.preferred, prompt.text)
        XCTAssertEqual(differences(try ShapesPrompt(parsing: s.other), prompt), 1)
        XCTAssertThrowsError(try Captions.pair(strategy: .captioning, prompt: "a cat", preferredTruthful: won.text,
                                               otherTruthful: lost.text, rng: &rng))
        for strategy in CaptionStrategy.all { XCTAssertEqual(CaptionStrategy(name: strategy.description), strategy) }
        XCTAssertEqual(CaptionStrategy.all.count, 7)
        XCTAssertNil(CaptionStrategy(name: "hybrid"))
    }
}
