import ImageIO
import Kernels
import XCTest
import ShapesWorld

/// The oracle against the renderer's ground truth (what was actually drawn, not the prompt).
final class OracleAccuracyTests: XCTestCase {
    func testOracleReadsFreshlyRenderedImages() throws {
        var rng = RNG(seed: 2024, stream: 11)
        let n = 1000
        var shapeRight = 0, colourRight = 0, backgroundRight = 0, sizeRight = 0, positionRight = 0
        var failures: [String] = []
        for i in 0..<n {
            let prompt = ShapesPrompt.sample(&rng)
            let generator = Generator.all[i % 2]
            let scene = generator.scene(for: prompt, rng: &rng)
            let rendered = try Renderer.render(scene, size: 32)
            let m = try Oracle.measure(rendered.image)
            let truth = Captions.truthful(scene, size: 32)
            if m.shape?.kind == scene.shape { shapeRight += 1 } else {
                failures.append("shape \(scene.shape) → \(String(describing: m.shape?.kind)) fill \(m.shape?.fillRatio ?? -1) \(scene.colour) on \(scene.background) \(scene.parameters)")
            }
            if m.shape?.colour == scene.colour { colourRight += 1 } else {
                failures.append("colour \(scene.colour) → \(String(describing: m.shape?.colour)) median \(String(describing: m.shape?.medianRGB)) on \(scene.background) \(scene.parameters)")
            }
            if m.background == scene.background { backgroundRight += 1 } else {
                failures.append("bg \(scene.background) → \(m.background) \(scene.parameters)")
            }
            if m.shape?.size == truth.size { sizeRight += 1 }
            if m.shape?.position == truth.position { positionRight += 1 }
        }
        print("oracle accuracy on \(n): shape \(shapeRight), colour \(colourRight), background \(backgroundRight), size \(sizeRight), position \(positionRight)")
        for f in failures.prefix(60) { print(f) }
        XCTAssertGreaterThanOrEqual(Double(shapeRight) / Double(n), 0.96)
        XCTAssertGreaterThanOrEqual(Double(colourRight) / Double(n), 0.99)
        XCTAssertGreaterThanOrEqual(Double(backgroundRight) / Double(n), 0.99)
    }
}
