import ImageIO
import Kernels
import XCTest
import ShapesWorld

final class RendererTests: XCTestCase {
    func scene(_ shape: ShapeKind = .square, colour: PaletteColour = .red, background: PaletteColour = .blue,
               size: ShapeSize? = .small, position: ShapePosition? = .center, vivid: Double = 1, light: Double = 0.5,
               gradient: Double = 0, scale: Double = 0, noise: Double = 0, placement: SIMD2<Double> = SIMD2(0.5, 0.5),
               dots: [PaletteColour] = [], seed: UInt64 = 1) -> Scene {
        Scene(shape: shape, colour: colour, background: background, size: size, position: position,
              parameters: RenderParameters(vivid: vivid, light: light, gradient: gradient, scale: scale, noise: noise),
              placement: placement, dotColours: dots, layoutRNG: RNG(seed: seed))
    }

    /// Bounding box of the pixels labelled `label` in the object map.
    func box(_ r: RenderedScene, label: UInt8 = 1) -> (minX: Int, minY: Int, maxX: Int, maxY: Int) {
        let s = r.image.width
        var b = (minX: s, minY: s, maxX: -1, maxY: -1)
        for i in r.objectMap.indices where r.objectMap[i] == label {
            let x = i % s, y = i / s
            b = (min(b.minX, x), min(b.minY, y), max(b.maxX, x), max(b.maxY, y))
        }
        return b
    }

    func testColoursFollowTheFormulas() throws {
        // vivid 0, light 1 (×1.25), gradient 1 (top row × 0.55), no noise.
        let r = try Renderer.render(scene(vivid: 0, light: 1, gradient: 1), size: 32)
        // Hand-computed: luma(220, 40, 40) = 93.82; g + 0.35·(p − g) = (137.983, 74.983, 74.983); × 1.25
        // = (172.48, 93.73, 93.73) → (172, 94, 94).
        let i = r.objectMap.firstIndex(of: 1)!
        XCTAssertEqual(Array(r.image.pixels[(3 * i)..<(3 * i + 3)]), [172, 94, 94])
        // Background blue (40, 90, 220): top row × 0.55 × 1.25 = (27.5, 61.875, 151.25) → (28, 62, 151);
        // bottom row × 1.25 = (50, 112.5, 275 → 255) → (50, 113, 255) (255 clamp, 112.5 rounds up).
        XCTAssertTrue(r.image[0, 0] == (28, 62, 151))
        XCTAssertTrue(r.image[31, 31] == (50, 113, 255))
        // Middle row 15: factor 1 − 0.45·(1 − 15/31) = 0.76774; × 1.25 → (38.39, 86.37, 211.13) → (38, 86, 211).
        XCTAssertTrue(r.image[0, 15] == (38, 86, 211))
    }

    func testBorderIsBackgroundAndSizesAndPositionsHoldAtEverySize() throws {
        var rng = RNG(seed: 3)
        for s in [16, 17, 24, 32, 48, 64] {
            for _ in 0..<60 {
                let prompt = ShapesPrompt.sample(&rng)
                let sc = Generator.sloppy.scene(for: prompt, rng: &rng)
                let r = try Renderer.render(sc, size: s)
                XCTAssertEqual(r.image.width, s)
                XCTAssertEqual(r.image.height, s)
                XCTAssertEqual(r.image.pixels.count, s * s * 3)
                for k in 0..<s {
                    for (x, y) in [(k, 0), (k, s - 1), (0, k), (s - 1, k)] {
                        XCTAssertEqual(r.objectMap[y * s + x], 0, "border pixel (\(x), \(y)) at S=\(s)")
                    }
                }
                // The drawn box matches d and the centre (one pixel of rasterisation slack).
                let b = box(r)
                let d = sc.diameter * Double(s)
                let c = sc.centrePixels(size: s)
                XCTAssertEqual(Double(b.maxX - b.minX + 1), d, accuracy: 1.01, "\(sc.shape) S=\(s)")
                XCTAssertEqual(Double(b.maxY - b.minY + 1), d, accuracy: 1.01, "\(sc.shape) S=\(s)")
                XCTAssertEqual(Double(b.minX + b.maxX + 1) / 2, c.x, accuracy: 0.51)
                XCTAssertEqual(Double(b.minY + b.maxY + 1) / 2, c.y, accuracy: 0.51)
                if let position = sc.position {
                    // Named centre ± 0.04·S jitter (clamping only pulls towards the middle).
                    XCTAssertLessThanOrEqual(abs(c.x / Double(s) - position.centre.x), 0.04 + 1e-9)
                    XCTAssertLessThanOrEqual(abs(c.y / Double(s) - position.centre.y), 0.04 + 1e-9)
                }
            }
        }
    }

    func testNoiseFreeBorderPixelsEqualTheRowBackground() throws {
        let sc = scene(background: .yellow, light: 0.2, gradient: 0.7, dots: [.red, .green, .black])
        let r = try Renderer.render(sc, size: 40)
        let k = 0.75 + 0.5 * 0.2
        for y in 0..<40 {
            let factor = 1 - 0.45 * 0.7 * (1 - Double(y) / 39)
            let v = PaletteColour.yellow.vector * factor * k
            let expected = (UInt8(min(v.x, 255).rounded()), UInt8(min(v.y, 255).rounded()), UInt8(min(v.z, 255).rounded()))
            XCTAssertTrue(r.image[0, y] == expected && r.image[39, y] == expected, "row \(y)")
        }
        for x in 0..<40 {
            XCTAssertTrue(r.image[x, 0] == r.image[0, 0] && r.image[x, 39] == r.image[0, 39])
        }
    }

    func testDotsTouchNeitherTheShapeNorEachOther() throws {
        var rng = RNG(seed: 8)
        var placed = 0, wanted = 0
        for s in [16, 32] {
            for _ in 0..<200 {
                let prompt = ShapesPrompt.sample(&rng)
                var sc = Generator.sloppy.scene(for: prompt, rng: &rng)
                sc.dotColours = [.red, .white, .green]
                let r = try Renderer.render(sc, size: s)
                wanted += 3
                placed += r.dotsDrawn
                XCTAssertEqual(Set(r.objectMap.filter { $0 >= 2 }).count, r.dotsDrawn)
                for y in 0..<s {
                    for x in 0..<s where r.objectMap[y * s + x] != 0 {
                        let label = r.objectMap[y * s + x]
                        for ny in max(0, y - 1)...min(s - 1, y + 1) {
                            for nx in max(0, x - 1)...min(s - 1, x + 1) {
                                let other = r.objectMap[ny * s + nx]
                                XCTAssertTrue(other == 0 || other == label, "objects \(label) and \(other) touch at S=\(s)")
                            }
                        }
                    }
                }
            }
        }
        // Dots are only left out when a large shape leaves no room.
        XCTAssertGreaterThan(Double(placed) / Double(wanted), 0.97)
    }

    func testUnnamedSizeUsesScaleAndFreeCentresKeepTheMargin() throws {
        for scale in [0.0, 0.5, 1.0] {
            let sc = scene(size: nil, position: nil, scale: scale, placement: SIMD2(0, 1))
            XCTAssertEqual(sc.diameter, 0.30 + 0.25 * scale, accuracy: 1e-12)
            let c = sc.centrePixels(size: 32)
            let half = sc.diameter * 32 / 2
            XCTAssertEqual(c.x, half + 1, accuracy: 1e-9)   // placement 0: as far left as the margin allows
            XCTAssertEqual(c.y, 31 - half, accuracy: 1e-9)  // placement 1: as low as the margin allows
            let r = try Renderer.render(sc, size: 32)
            let b = box(r)
            XCTAssertEqual(b.minX, 1)
            XCTAssertEqual(b.maxY, 30)
        }
    }

    func testNoiseHasTheRequestedSigma() throws {
        let r = try Renderer.render(scene(background: .purple, noise: 0.05), size: 64)
        let m = try Oracle.measure(r.image)
        XCTAssertEqual(m.features.noise, 0.05, accuracy: 0.008)
        let clean = try Oracle.measure(try Renderer.render(scene(background: .purple), size: 64).image)
        XCTAssertEqual(clean.features.noise, 0)
    }

    func testRenderingIsDeterministicAndRejectsTinySizes() throws {
        let sc = scene(noise: 0.03, dots: [.green, .yellow])
        XCTAssertEqual(try Renderer.render(sc, size: 32).image, try Renderer.render(sc, size: 32).image)
        XCTAssertNotEqual(try Renderer.render(sc, size: 32).image,
                          try Renderer.render(scene(noise: 0.03, dots: [.green, .yellow], seed: 2), size: 32).image)
        XCTAssertThrowsError(try Renderer.render(sc, size: 15)) { error in
            XCTAssertEqual(error as? ShapesWorldError, .imageTooSmall(size: 15, minimum: 16))
        }
    }
}
