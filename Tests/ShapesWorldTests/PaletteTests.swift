import XCTest
import ShapesWorld

final class PaletteTests: XCTestCase {
    func testPaletteHuesAndSaturationsMatchColorsys() {
        // Python: h, s, v = colorsys.rgb_to_hsv(*[c / 255 for c in rgb]); print(h * 360, s)
        let expected: [PaletteColour: (hue: Double, saturation: Double)] = [
            .red: (0.0, 0.81818), .orange: (31.4286, 0.875), .yellow: (53.8462, 0.82979),
            .green: (130.0, 0.70588), .blue: (223.3333, 0.81818), .purple: (276.9231, 0.68421),
            .white: (0.0, 0.0), .black: (0.0, 0.0),
        ]
        for c in PaletteColour.allCases {
            let e = expected[c]!
            XCTAssertEqual(c.hue, e.hue, accuracy: 1e-3, "\(c)")
            XCTAssertEqual(ColourMath.saturation(c.vector), e.saturation, accuracy: 1e-4, "\(c)")
        }
    }

    func testEveryPaletteColourNamesItself() {
        for c in PaletteColour.allCases {
            XCTAssertEqual(PaletteColour.named(c.vector), c)
        }
    }

    func testNamingRule() {
        // Greys: saturation < 0.2, then luma > 110 decides.
        XCTAssertEqual(PaletteColour.named(SIMD3(130, 130, 130)), .white)
        XCTAssertEqual(PaletteColour.named(SIMD3(105, 105, 105)), .black)
        XCTAssertEqual(PaletteColour.named(SIMD3(111, 111, 111)), .white)   // luma 111 > 110
        XCTAssertEqual(PaletteColour.named(SIMD3(200, 180, 170)), .white)  // saturation 0.15
        // Chromatic: nearest palette hue. (255, 160, 0) has hue 37.6°: 6.2° from orange, 16.2° from yellow.
        XCTAssertEqual(PaletteColour.named(SIMD3(255, 160, 0)), .orange)
        // Hue 350° is 10° from red across the wrap, far from purple (277°).
        XCTAssertEqual(PaletteColour.named(SIMD3(200, 0, 33.33)), .red)
        // A dark but saturated colour is named by hue, not as black.
        XCTAssertEqual(PaletteColour.named(SIMD3(10, 30, 80)), .blue)
        XCTAssertEqual(ColourMath.luma(SIMD3(220, 40, 40)), 93.82, accuracy: 1e-9)
        XCTAssertEqual(ColourMath.hueDistance(350, 10), 20, accuracy: 1e-12)
    }
}
