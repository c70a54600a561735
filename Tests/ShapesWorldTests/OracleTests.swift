import ImageIO
import XCTest
import ShapesWorld

/// The oracle on hand-made images whose measurements are known (references computed with numpy).
final class OracleTests: XCTestCase {
    /// A 32×32 blue image with a red 10×10 square at x, y ∈ 5…14.
    static func redSquareOnBlue() -> RGBImage {
        var image = RGBImage(width: 32, height: 32, fill: (40, 90, 220))
        for y in 5...14 { for x in 5...14 { image[x, y] = (220, 40, 40) } }
        return image
    }

    func testRedSquareOnBlue() throws {
        let m = try Oracle.measure(Self.redSquareOnBlue())
        XCTAssertEqual(m.background, .blue)
        let shape = try XCTUnwrap(m.shape)
        XCTAssertEqual(shape.kind, .square)
        XCTAssertEqual(shape.colour, .red)
        XCTAssertEqual(shape.size, .small)            // 10/32 = 0.3125 < 0.43
        XCTAssertEqual(shape.position, .topLeft)      // box centre (10/32, 10/32) = (0.3125, 0.3125)
        XCTAssertEqual(shape.pixelCount, 100)
        XCTAssertEqual(shape.fillRatio, 1)
        // numpy: img = full((32, 32, 3), (40, 90, 220)); img[5:15, 5:15] = (220, 40, 40)
        //   light_f = (0.299·R + 0.587·G + 0.114·B).mean() / 255 = 0.35394408700980384
        //   vivid_f = colorsys.rgb_to_hsv(220/255, 40/255, 40/255)[1] = 0.8181818181818182
        //   scale_f = (10/32 − 0.30) / 0.25 = 0.05
        XCTAssertEqual(m.features.light, 0.35394408700980384, accuracy: 1e-12)
        XCTAssertEqual(m.features.vivid, 0.8181818181818182, accuracy: 1e-12)
        XCTAssertEqual(m.features.scale, 0.05, accuracy: 1e-12)
        XCTAssertEqual(m.features.gradient, 0)
        XCTAssertEqual(m.features.clutter, 0)
        XCTAssertEqual(m.features.noise, 0)
    }

    func testTriangleAndCircleByFillRatio() throws {
        // A triangle drawn row by row: row k of 12 has width 2k + 1 (1, 3, …, 23): fill 144 / (23·12) = 0.52.
        var tri = RGBImage(width: 32, height: 32, fill: (240, 240, 240))
        for k in 0..<12 { for x in (15 - k)...(15 + k) { tri[x, 10 + k] = (50, 170, 70) } }
        let t = try XCTUnwrap(try Oracle.measure(tri).shape)
        XCTAssertEqual(t.kind, .triangle)
        XCTAssertEqual(t.fillRatio, 144.0 / (23 * 12), accuracy: 1e-12)
        XCTAssertEqual(t.colour, .green)
        XCTAssertEqual(t.size, .large)                // 23/32 = 0.72
        XCTAssertEqual(t.position, .center)           // centre (15.5/32, 16/32)
        // A disc of radius 8 (pixel centres within 8 of (20, 20)): fill ≈ π/4.
        var disc = RGBImage(width: 32, height: 32, fill: (25, 25, 25))
        for y in 0..<32 { for x in 0..<32 {
            let dx = Double(x) + 0.5 - 20, dy = Double(y) + 0.5 - 20
            if dx * dx + dy * dy <= 64 { disc[x, y] = (235, 215, 40) }
        } }
        let c = try Oracle.measure(disc)
        XCTAssertEqual(c.background, .black)
        XCTAssertEqual(c.shape?.kind, .circle)
        XCTAssertEqual(c.shape?.colour, .yellow)
        XCTAssertEqual(c.shape?.position, .bottomRight) // centre (20/32, 20/32) = (0.625, 0.625)
    }

    func testNoValidShape() throws {
        let empty = try Oracle.measure(RGBImage(width: 32, height: 32, fill: (140, 60, 190)))
        XCTAssertNil(empty.shape)
        XCTAssertEqual(empty.background, .purple)
        XCTAssertEqual(empty.features.vivid, 0)
        XCTAssertEqual(empty.features.scale, 0)
        // A foreground covering more than 85% of the image is not a shape: a 31×30 block = 90.8%.
        var full = RGBImage(width: 32, height: 32, fill: (40, 90, 220))
        for y in 0..<30 { for x in 1..<32 { full[x, y] = (220, 40, 40) } }
        XCTAssertNil(try Oracle.measure(full).shape)
    }

    func testClutterCountsComponentsOfAtLeastPointThreePercent() throws {
        var image = Self.redSquareOnBlue()
        // 0.003·32² = 3.07 pixels: a 2×2 dot (4 px) counts, a 3-pixel dot does not.
        for (x, y) in [(25, 25), (26, 25), (25, 26), (26, 26)] { image[x, y] = (240, 240, 240) }
        XCTAssertEqual(try Oracle.measure(image).otherComponents, 1)
        XCTAssertEqual(try Oracle.measure(image).features.clutter, 1)
        for (x, y) in [(25, 5), (26, 5), (27, 5)] { image[x, y] = (240, 240, 240) }
        XCTAssertEqual(try Oracle.measure(image).otherComponents, 1)
        for (x, y) in [(25, 10), (26, 10), (25, 11), (26, 11)] { image[x, y] = (50, 170, 70) }
        let m = try Oracle.measure(image)
        XCTAssertEqual(m.otherComponents, 2)
        XCTAssertEqual(m.features.clutter, 1, "features are clamped to [0, 1]")
        // Diagonal neighbours are separate components (4-connectivity).
        var diagonal = RGBImage(width: 32, height: 32, fill: (40, 90, 220))
        for i in 0..<10 { diagonal[5 + i, 5 + i] = (220, 40, 40) }
        XCTAssertEqual(try Oracle.measure(diagonal).shape?.pixelCount, 1)
    }

    func testGradientFeature() throws {
        // White rows × (1 − 0.45·0.6·(1 − y/31)), rounded: top row 175, bottom row 240.
        // numpy: (1 − 175/240) / 0.45 = 0.601851851851852.
        var image = RGBImage(width: 32, height: 32, fill: (0, 0, 0))
        for y in 0..<32 {
            let v = UInt8((240 * (1 - 0.45 * 0.6 * (1 - Double(y) / 31))).rounded())
            for x in 0..<32 { image[x, y] = (v, v, v) }
        }
        let m = try Oracle.measure(image)
        XCTAssertEqual(m.features.gradient, 0.601851851851852, accuracy: 1e-12)
        XCTAssertEqual(m.background, .white)
        XCTAssertNil(m.shape, "a row background is not foreground")
    }

    func testNoiseFeatureAndBackgroundMedianOnAStructuredImage() throws {
        // numpy: x, y, c = aranges; im = (x·x·7 + y·y·13 + x·y·3 + c·29) % 256;
        //   d = concat(diff(im[:, 0]), diff(im[:, 31]), diff(im[31, :])) over all channels (279 values);
        //   median(d) = −2, MAD = 68 → noise_f = 1.4826·68 / (255·√2) = 0.27956173700991344;
        //   per-channel median of left, right, bottom, bottom = (97, 113.5, 130) → hue 210°, saturation 0.25 → blue.
        var image = RGBImage(width: 32, height: 32, fill: (0, 0, 0))
        for y in 0..<32 { for x in 0..<32 {
            func v(_ c: Int) -> UInt8 { UInt8((x * x * 7 + y * y * 13 + x * y * 3 + c * 29) % 256) }
            image[x, y] = (v(0), v(1), v(2))
        } }
        let m = try Oracle.measure(image)
        XCTAssertEqual(m.features.noise, 0.27956173700991344, accuracy: 1e-12)
        XCTAssertEqual(m.features.light, 0.4895362745098039, accuracy: 1e-12)
        XCTAssertEqual(m.background, .blue)
    }

    func testBadImagesAreTypedErrors() {
        XCTAssertThrowsError(try Oracle.measure(RGBImage(width: 32, height: 20, fill: (0, 0, 0)), source: "x.png")) {
            XCTAssertEqual($0 as? ShapesWorldError, .notSquare(source: "x.png", width: 32, height: 20))
            XCTAssertTrue("\($0)".contains("x.png"))
        }
        XCTAssertThrowsError(try Oracle.measure(RGBImage(width: 2, height: 2, fill: (0, 0, 0)))) {
            XCTAssertEqual($0 as? ShapesWorldError, .imageTooSmallToMeasure(source: "image", size: 2, minimum: 4))
        }
    }
}
