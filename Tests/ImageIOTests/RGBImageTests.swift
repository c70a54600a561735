// RGBImage: pixel access, model-tensor conversion and the geometric transforms, against numpy/PyTorch.
import ImageIO
import XCTest

final class RGBImageTests: XCTestCase {
    func testFillSubscriptAndEquality() {
        var image = RGBImage(width: 3, height: 2, fill: (10, 20, 30))
        XCTAssertEqual(image.pixels.count, 18)
        XCTAssertTrue(image[2, 1] == (10, 20, 30))
        image[2, 1] = (1, 2, 3)
        XCTAssertTrue(image[2, 1] == (1, 2, 3))
        XCTAssertEqual(Array(image.pixels[15..<18]), [1, 2, 3])  // row-major, interleaved
        XCTAssertNotEqual(image, RGBImage(width: 3, height: 2, fill: (10, 20, 30)))
        XCTAssertNotEqual(RGBImage(width: 3, height: 2, fill: (0, 0, 0)), RGBImage(width: 2, height: 3, fill: (0, 0, 0)))
    }

    /// numpy: `np.array([0, 1, 127, 128, 254, 255], np.float32) / 127.5 - 1`
    ///   = [-1, -0.99215686, -0.00392157, 0.00392163, 0.99215686, 1]
    func testWriteCHWMatchesNumpyAndIsPlanar() {
        let values: [UInt8] = [0, 1, 127, 128, 254, 255]
        let expected: [Float] = [-1, -0.99215686, -0.00392157, 0.00392163, 0.99215686, 1]
        // A 6×1 image whose R channel holds `values`, G the reverse, B constant 255.
        var image = RGBImage(width: 6, height: 1, fill: (0, 0, 255))
        for x in 0..<6 { image[x, 0] = (values[x], values[5 - x], 255) }
        var out = [Float](repeating: .nan, count: 18)
        out.withUnsafeMutableBufferPointer { image.writeCHW(to: $0.baseAddress!) }
        for x in 0..<6 {
            XCTAssertEqual(out[x], expected[x], accuracy: 1e-6)
            XCTAssertEqual(out[6 + x], expected[5 - x], accuracy: 1e-6)
            XCTAssertEqual(out[12 + x], 1, accuracy: 1e-6)
        }
    }

    /// numpy: `np.round((np.clip(v, -1, 1) + 1) * 127.5)` for v = [-2, -1, 0, 0.5, 1, 3, -0.999, 0.001]
    ///   = [0, 0, 128, 191, 255, 255, 0, 128]; NaN (a diverged sample) maps to 0.
    func testInitFromCHWClampsRoundsAndMapsNaNToBlack() {
        let v: [Float] = [-2, -1, 0, 0.5, 1, 3, -0.999, 0.001, .nan]
        let expected: [UInt8] = [0, 0, 128, 191, 255, 255, 0, 128, 0]
        var chw = [Float](repeating: 0, count: 27)
        for i in 0..<9 { chw[i] = v[i]; chw[9 + i] = -v[i]; chw[18 + i] = 1 }
        let image = chw.withUnsafeBufferPointer { RGBImage(chw: $0.baseAddress!, width: 9, height: 1) }
        let negated: [UInt8] = [255, 255, 128, 64, 0, 0, 255, 127, 0]  // same expression on -v
        for i in 0..<9 {
            XCTAssertTrue(image[i, 0] == (expected[i], negated[i], 255), "x=\(i): \(image[i, 0])")
        }
    }

    func testCHWRoundTripIsLosslessForEveryByte() {
        let pixels = (0..<256 * 3).map { UInt8(($0 * 7) % 256) }
        let image = RGBImage(width: 16, height: 16, pixels: pixels)
        var chw = [Float](repeating: 0, count: pixels.count)
        chw.withUnsafeMutableBufferPointer { image.writeCHW(to: $0.baseAddress!) }
        XCTAssertEqual(chw.withUnsafeBufferPointer { RGBImage(chw: $0.baseAddress!, width: 16, height: 16) }, image)
    }

    // MARK: Resampling. References are unrounded float64 values; a correctly rounded result is within 0.5.

    /// PyTorch: `F.interpolate(t, size=(5, 7), mode='bilinear', align_corners=False)` on the 4×3 pattern
    /// (37x + 11y² + 5) % 256 as float64.
    func testBilinearUpscaleMatchesTorch() {
        let reference: [Double] = [5, 18.214, 39.357, 60.5, 81.643, 102.786, 116, 9.4, 22.614, 43.757, 64.9, 86.043,
                                   107.186, 120.4, 16, 29.214, 50.357, 71.5, 92.643, 113.786, 127, 35.8, 49.014, 70.157,
                                   91.3, 112.443, 133.586, 146.8, 49, 62.214, 83.357, 104.5, 125.643, 146.786, 160]
        assertGrey(resamplePattern(width: 4, height: 3).resized(width: 7, height: 5), matches: reference, width: 7)
    }

    /// PyTorch: `F.interpolate(t, size=(3, 4), mode='area')` on the 8×6 pattern (integer factor 2).
    func testIntegerAreaDownscaleMatchesTorch() {
        let reference: [Double] = [29, 103, 177, 123, 95, 169, 179, 61, 121, 131, 141, 151]
        assertGrey(resamplePattern(width: 8, height: 6).resized(width: 4, height: 3), matches: reference, width: 4)
    }

    /// numpy exact-coverage area average: `cov(5, 2) @ img @ cov(7, 3).T` with
    /// `cov(n, m)[i, j] = max(0, min((i+1)·s, j+1) − max(i·s, j)) / s`, s = n/m, on the 7×5 pattern.
    func testFractionalAreaDownscaleMatchesExactCoverage() {
        let reference: [Double] = [44.629, 129.2, 191.829, 150.229, 161.657, 107.257]
        assertGrey(resamplePattern(width: 7, height: 5).resized(width: 3, height: 2), matches: reference, width: 3)
    }

    /// Width grows (bilinear) while height shrinks (area). PyTorch:
    /// `F.interpolate(F.interpolate(t, size=(6, 8), mode='bilinear', align_corners=False), size=(3, 8), mode='area')`
    /// on the 4×6 pattern.
    func testMixedAxesMatchTorch() {
        let reference: [Double] = [10.5, 19.75, 38.25, 56.75, 75.25, 93.75, 112.25, 121.5, 76.5, 85.75, 104.25, 122.75,
                                   141.25, 159.75, 178.25, 187.5, 102.5, 111.75, 130.25, 148.75, 167.25, 153.75, 108.25, 85.5]
        assertGrey(resamplePattern(width: 4, height: 6).resized(width: 8, height: 3), matches: reference, width: 8)
    }

    func testResizeTreatsChannelsIndependently() {
        let grey = resamplePattern(width: 9, height: 7)
        var colour = grey
        for y in 0..<7 { for x in 0..<9 { let v = grey[x, y].0; colour[x, y] = (v, 255 - v, 77) } }
        for (w, h) in [(4, 3), (13, 11), (9, 2)] {
            let expectedR = grey.resized(width: w, height: h)
            let inverted = RGBImage(width: 9, height: 7, pixels: grey.pixels.map { 255 - $0 }).resized(width: w, height: h)
            let got = colour.resized(width: w, height: h)
            for y in 0..<h {
                for x in 0..<w {
                    XCTAssertTrue(got[x, y] == (expectedR[x, y].0, inverted[x, y].0, 77), "\(w)×\(h) at (\(x), \(y))")
                }
            }
        }
        XCTAssertEqual(colour.resized(width: 9, height: 7), colour)
    }

    /// torchvision `Resize(size)` size rule: shorter side → size, longer → int(size · long / short).
    func testResizedShorterSideKeepsAspectLikeTorchvision() {
        let cases: [(Int, Int, Int, Int, Int)] = [(200, 100, 32, 64, 32), (100, 300, 32, 32, 96), (7, 5, 3, 4, 3), (64, 64, 32, 32, 32)]
        for (w, h, size, ew, eh) in cases {
            let out = RGBImage(width: w, height: h, fill: (9, 8, 7)).resizedShorterSide(to: size)
            XCTAssertEqual([out.width, out.height], [ew, eh], "\(w)×\(h) → \(size)")
            XCTAssertTrue(out.pixels.allSatisfy { [9, 8, 7].contains($0) } && out[0, 0] == (9, 8, 7))
        }
    }

    /// torchvision `center_crop` placement: offset `int(round((size - crop) / 2.0))` (Python rounds half to
    /// even); a larger window pads `(crop - size) // 2` zeros on the left/top. For the 7×5 pattern:
    /// crop 4×2 → left round(1.5)=2, top round(1.5)=2; crop 3×3 → left 2, top 1; crop 2×5 → left round(2.5)=2, top 0;
    /// crop 9×7 → pad 1 left and top.
    func testCenterCropPlacementMatchesTorchvision() {
        let image = fixturePattern()
        for (cw, ch, left, top) in [(4, 2, 2, 2), (3, 3, 2, 1), (2, 5, 2, 0), (9, 7, -1, -1), (7, 5, 0, 0), (10, 3, -1, 1)] {
            let crop = image.centerCropped(width: cw, height: ch)
            XCTAssertEqual([crop.width, crop.height], [cw, ch])
            for y in 0..<ch {
                for x in 0..<cw {
                    let sx = x + left, sy = y + top
                    let inside = sx >= 0 && sx < 7 && sy >= 0 && sy < 5
                    let want = inside ? image[sx, sy] : (0, 0, 0)
                    XCTAssertTrue(crop[x, y] == want, "crop \(cw)×\(ch) at (\(x), \(y))")
                }
            }
        }
    }

    /// numpy: `np.flip(img, axis=1)`.
    func testFlipHorizontally() {
        let image = fixturePattern()
        let flipped = image.flippedHorizontally()
        for y in 0..<5 { for x in 0..<7 { XCTAssertTrue(flipped[x, y] == image[6 - x, y]) } }
        XCTAssertEqual(flipped.flippedHorizontally(), image)
    }

    private func assertGrey(_ image: RGBImage, matches reference: [Double], width: Int,
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(image.width, width, file: file, line: line)
        XCTAssertEqual(image.width * image.height, reference.count, file: file, line: line)
        guard image.width * image.height == reference.count else { return }
        for (i, want) in reference.enumerated() {
            let (r, g, b) = image[i % width, i / width]
            XCTAssertTrue(r == g && g == b, file: file, line: line)
            XCTAssertLessThanOrEqual(abs(Double(r) - want), 0.5 + 1e-3, "pixel \(i): \(r) vs \(want)", file: file, line: line)
        }
    }
}
