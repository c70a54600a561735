// JPEG decode against Pillow: expected pixels printed by Scripts/make_image_fixtures.py as
// `np.asarray(Image.open(name).convert('RGB'))[y, x]` (Pillow 13.0 with libjpeg-turbo 3.2), ±2 for decoder
// differences (we link libjpeg-turbo 2.1).
import ImageIO
import XCTest

final class JPEGCodecTests: XCTestCase {
    typealias Probe = (x: Int, y: Int, rgb: (Int, Int, Int))

    func testBaselineRGB420MatchesPillow() throws {
        try assertProbes("rgb.jpg", [(0, 0, (12, 7, 185)), (5, 3, (85, 64, 155)), (15, 0, (223, 11, 111)),
                                     (0, 11, (25, 216, 149)), (15, 11, (234, 220, 72)), (8, 6, (129, 126, 121))])
    }

    func testProgressiveRGBMatchesPillow() throws {
        try assertProbes("progressive.jpg", [(0, 0, (12, 7, 185)), (5, 3, (85, 64, 155)), (15, 0, (223, 11, 111)),
                                             (0, 11, (25, 216, 149)), (15, 11, (234, 220, 72)), (8, 6, (129, 126, 121))])
    }

    func testGrayscaleMatchesPillowAndReplicatesToRGB() throws {
        try assertProbes("gray.jpg", [(0, 0, (10, 10, 10)), (5, 3, (84, 84, 84)), (15, 0, (235, 235, 235)),
                                      (0, 11, (10, 10, 10)), (15, 11, (235, 235, 235)), (8, 6, (130, 130, 130))])
        let image = try ImageFile.read(Fixtures.path("gray.jpg"))
        for y in 0..<image.height {
            for x in 0..<image.width {
                let (r, g, b) = image[x, y]
                XCTAssertTrue(r == g && g == b, "(\(x), \(y)) is not grey: \(image[x, y])")
            }
        }
    }

    /// Adobe (inverted) CMYK as Pillow writes it, converted like Pillow's `convert('RGB')`.
    func testAdobeCMYKConvertsLikePillow() throws {
        try assertProbes("cmyk.jpg", [(0, 0, (10, 5, 200)), (5, 3, (85, 64, 155)), (15, 0, (235, 5, 110)),
                                      (0, 11, (10, 225, 146)), (15, 11, (235, 225, 56)), (8, 6, (130, 125, 122))])
    }

    private func assertProbes(_ name: String, _ probes: [Probe], file: StaticString = #filePath, line: UInt = #line) throws {
        let image = try ImageFile.read(Fixtures.path(name))
        XCTAssertEqual(image.width, 16, file: file, line: line)
        XCTAssertEqual(image.height, 12, file: file, line: line)
        for probe in probes {
            let (r, g, b) = image[probe.x, probe.y]
            let got = [Int(r), Int(g), Int(b)], want = [probe.rgb.0, probe.rgb.1, probe.rgb.2]
            for c in 0..<3 {
                XCTAssertLessThanOrEqual(abs(got[c] - want[c]), 2, "\(name) (\(probe.x), \(probe.y)): \(got) vs Pillow \(want)",
                                         file: file, line: line)
            }
        }
    }
}
