// Canvas drawing (clipped rectangles, nearest-upscaled pastes, text) and the bitmap font.
import ImageIO
import XCTest

final class CanvasTests: XCTestCase {
    let white: (UInt8, UInt8, UInt8) = (255, 255, 255)
    let red: (UInt8, UInt8, UInt8) = (200, 10, 10)

    func testFillRectangleIsClippedToTheCanvas() {
        var canvas = Canvas(width: 10, height: 8)
        canvas.fillRectangle(x: -3, y: 5, width: 6, height: 10, color: red)  // covers x 0..<3, y 5..<8
        canvas.fillRectangle(x: 20, y: 20, width: 5, height: 5, color: red)  // entirely outside: no-op
        canvas.fillRectangle(x: 2, y: 2, width: -4, height: 3, color: red)   // negative size: no-op
        for y in 0..<8 {
            for x in 0..<10 {
                let inside = x < 3 && y >= 5
                XCTAssertTrue(canvas.image[x, y] == (inside ? red : white), "(\(x), \(y))")
            }
        }
    }

    func testStrokeRectangleColoursOnlyTheBorder() {
        var canvas = Canvas(width: 12, height: 10)
        canvas.strokeRectangle(x: 1, y: 2, width: 8, height: 6, color: red, thickness: 2)
        for y in 0..<10 {
            for x in 0..<12 {
                let inOuter = x >= 1 && x < 9 && y >= 2 && y < 8
                let inInner = x >= 3 && x < 7 && y >= 4 && y < 6
                XCTAssertTrue(canvas.image[x, y] == (inOuter && !inInner ? red : white), "(\(x), \(y))")
            }
        }
    }

    /// numpy reference: `np.kron(img, np.ones((3, 3, 1)))` placed at (x, y), clipped.
    func testPasteUpscalesNearestAndClips() {
        let source = fixturePattern(width: 4, height: 3)
        var canvas = Canvas(width: 14, height: 8, background: (1, 2, 3))
        canvas.paste(source, x: 5, y: -2, scale: 3)
        for y in 0..<8 {
            for x in 0..<14 {
                let sx = x - 5, sy = y + 2
                let inside = sx >= 0 && sx < 12 && sy >= 0 && sy < 9
                let want = inside ? source[sx / 3, sy / 3] : (1, 2, 3)
                XCTAssertTrue(canvas.image[x, y] == want, "(\(x), \(y))")
            }
        }
        canvas.paste(source, x: -100, y: 100)  // entirely outside: no-op, no trap
    }

    /// The classic 5×7 "A" glyph, drawn at scale 2 at (1, 1).
    func testDrawTextRendersTheGlyphAtScale() {
        let glyph = [".###.", "#...#", "#...#", "#...#", "#####", "#...#", "#...#"]
        var canvas = Canvas(width: 13, height: 17)
        let height = canvas.drawText("A", x: 1, y: 1, color: red, scale: 2)
        XCTAssertEqual(height, 16)  // 8 rows (7 + descender row) × 2
        for y in 0..<17 {
            for x in 0..<13 {
                let gx = (x - 1) / 2, gy = (y - 1) / 2
                let ink = x >= 1 && y >= 1 && gx < 5 && gy < 7 && Array(glyph[gy])[gx] == "#"
                XCTAssertTrue(canvas.image[x, y] == (ink ? red : white), "(\(x), \(y))")
            }
        }
    }

    /// Characters outside printable ASCII draw as a hollow 5×7 box rather than vanishing.
    func testNonASCIIDrawsReplacementBox() {
        var canvas = Canvas(width: 5, height: 7)
        canvas.drawText("é", x: 0, y: 0, color: red)
        for y in 0..<7 {
            for x in 0..<5 {
                let border = x == 0 || x == 4 || y == 0 || y == 6
                XCTAssertTrue(canvas.image[x, y] == (border ? red : white), "(\(x), \(y))")
            }
        }
    }

    /// "g" of the classic 5×8 LCD font (columns 0x18 0xA4 0xA4 0xA4 0x7C): tail in the descender row.
    func testDescenderUsesTheEighthRow() {
        let glyph = [".....", ".....", ".####", "#...#", "#...#", ".####", "....#", ".###."]
        for y in 0..<8 {
            for x in 0..<5 {
                XCTAssertEqual(BitmapFont.isInk("g", x: x, y: y), Array(glyph[y])[x] == "#", "(\(x), \(y))")
            }
        }
    }

    /// Typographic punctuation from prompts draws as its ASCII look-alike, not as a box.
    func testTypographicPunctuationFallsBackToASCII() {
        for (fancy, plain) in [("\u{2014}", "-"), ("\u{2019}", "'"), ("\u{201C}", "\""), ("\u{2026}", "."), ("\u{00A0}", " ")] {
            var a = Canvas(width: 6, height: 8), b = Canvas(width: 6, height: 8)
            a.drawText(fancy, x: 0, y: 0, color: red)
            b.drawText(plain, x: 0, y: 0, color: red)
            XCTAssertEqual(a.image, b.image, "\(fancy) vs \(plain)")
        }
    }

    func testTextMetrics() {
        XCTAssertEqual(BitmapFont.width(of: "abc"), 17)  // 3·6 − 1
        XCTAssertEqual(BitmapFont.width(of: "abc", scale: 2), 34)
        XCTAssertEqual(BitmapFont.width(of: ""), 0)
        XCTAssertEqual(BitmapFont.height(lines: 2), 18)  // line pitch 10 + glyph 8
        XCTAssertEqual(BitmapFont.charactersPerLine(maxWidth: 59), 10)
    }

    func testWrapBreaksAtSpacesAndSplitsLongWords() {
        // 59 px = 10 characters per line.
        XCTAssertEqual(BitmapFont.wrap("a red cube on a blue sphere", maxWidth: 59), ["a red cube", "on a blue", "sphere"])
        XCTAssertEqual(BitmapFont.wrap("abcdefghijklmnopqrstuvwxyz", maxWidth: 59), ["abcdefghij", "klmnopqrst", "uvwxyz"])
        XCTAssertEqual(BitmapFont.wrap("one\n\ntwo  words", maxWidth: 59), ["one", "", "two words"])
        XCTAssertEqual(BitmapFont.wrap("ab", maxWidth: 0), ["a", "b"])  // always progresses
        XCTAssertEqual(BitmapFont.wrap("windows\r\nline", maxWidth: 59), ["windows", "line"])
    }

    func testWrappedTextStaysInsideMaxWidth() {
        var canvas = Canvas(width: 80, height: 60)
        let height = canvas.drawText("the quick brown fox jumps over the lazy dog", x: 0, y: 0, color: red, maxWidth: 40)
        XCTAssertEqual(height, BitmapFont.height(lines: BitmapFont.wrap("the quick brown fox jumps over the lazy dog",
                                                                        maxWidth: 40).count))
        var inkRight = 0, inkLeft = 0
        for y in 0..<60 {
            for x in 0..<80 where canvas.image[x, y] == red { if x >= 40 { inkRight += 1 } else { inkLeft += 1 } }
        }
        XCTAssertEqual(inkRight, 0)
        XCTAssertGreaterThan(inkLeft, 0)
    }
}
