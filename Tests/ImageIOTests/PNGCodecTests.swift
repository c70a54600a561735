// PNG encode/decode: round trips, every colour type/bit depth libpng must convert, and the file written.
import Foundation
import ImageIO
import XCTest

final class PNGCodecTests: XCTestCase {
    func testEncodeDecodeRoundTripIsIdentical() throws {
        for (width, height, seed) in [(1, 1, 1), (7, 5, 2), (33, 17, 3), (64, 64, 4)] as [(Int, Int, UInt64)] {
            let image = randomImage(width: width, height: height, seed: seed)
            let bytes = try ImageFile.encodePNG(image)
            XCTAssertEqual(try ImageFile.decode(bytes, source: "memory"), image, "\(width)×\(height)")
        }
    }

    func testWritePNGThenReadIsIdenticalAndLeavesNoTempFiles() throws {
        let directory = try makeTemporaryDirectory(self)
        let path = directory + "/nested/dir/sample.png"  // missing parents are created
        let image = randomImage(width: 32, height: 32, seed: 42)
        try ImageFile.writePNG(image, to: path)
        XCTAssertEqual(try ImageFile.read(path), image)
        // Overwriting replaces the file atomically.
        let second = randomImage(width: 5, height: 9, seed: 43)
        try ImageFile.writePNG(second, to: path)
        XCTAssertEqual(try ImageFile.read(path), second)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory + "/nested/dir"), ["sample.png"])
    }

    /// The encoder writes a standard file: signature, IHDR 8-bit RGB non-interlaced, chunks with valid CRCs
    /// ending in IEND — what pngcheck/ImageMagick validate (checked by hand, see the report).
    func testEncodedPNGIsStandard8BitRGBWithValidChunks() throws {
        let bytes = try ImageFile.encodePNG(randomImage(width: 300, height: 2, seed: 7))
        XCTAssertEqual(Array(bytes.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var offset = 8
        var chunkTypes: [String] = []
        while offset + 12 <= bytes.count {
            let length = Int(bigEndian32(bytes, offset))
            let type = String(decoding: bytes[offset + 4..<offset + 8], as: UTF8.self)
            let body = Array(bytes[offset + 4..<offset + 8 + length])
            XCTAssertEqual(crc32(body), bigEndian32(bytes, offset + 8 + length), "CRC of \(type)")
            if type == "IHDR" {
                XCTAssertEqual(bigEndian32(bytes, offset + 8), 300)  // width
                XCTAssertEqual(bigEndian32(bytes, offset + 12), 2)   // height
                XCTAssertEqual(Array(bytes[offset + 16..<offset + 21]), [8, 2, 0, 0, 0])  // depth, RGB, deflate, filter, no interlace
            }
            chunkTypes.append(type)
            offset += 12 + length
        }
        XCTAssertEqual(offset, bytes.count, "trailing bytes after the last chunk")
        XCTAssertEqual(chunkTypes.first, "IHDR")
        XCTAssertEqual(chunkTypes.last, "IEND")
        XCTAssertTrue(chunkTypes.contains("IDAT"))
    }

    func testReadsPlainRGB() throws {
        XCTAssertEqual(try ImageFile.read(Fixtures.path("rgb8.png")), fixturePattern())
    }

    func testReadsAdam7InterlacedRGB() throws {
        XCTAssertEqual(try ImageFile.read(Fixtures.path("rgb8_interlaced.png")), fixturePattern())
    }

    /// Alpha is dropped, not composited: the stored colour comes back whatever the alpha.
    func testRGBAAndGrayAlphaDropAlpha() throws {
        XCTAssertEqual(try ImageFile.read(Fixtures.path("rgba8.png")), fixturePattern())
        let gray = try ImageFile.read(Fixtures.path("gray_alpha8.png"))
        assertGray(gray) { x, y in (37 * x + 11 * y) % 256 }
    }

    func testGray8ReplicatesToRGB() throws {
        assertGray(try ImageFile.read(Fixtures.path("gray8.png"))) { x, y in (37 * x + 11 * y) % 256 }
    }

    /// 1-bit gray with a 7-pixel row (not a whole byte): ink (255) where (x + 2y) % 3 == 0.
    func testGray1BitExpandsTo0And255() throws {
        assertGray(try ImageFile.read(Fixtures.path("gray1.png"))) { x, y in (x + 2 * y) % 3 == 0 ? 255 : 0 }
    }

    /// 16-bit samples v16 = 256·v8 + (31x + 17y) % 256 scale to 8 bits as numpy `np.round(v16 / 257)`.
    func testSixteenBitScalesWithRounding() throws {
        func expected(_ v8: Int, _ x: Int, _ y: Int) -> UInt8 {
            UInt8((Double(v8 * 256 + (31 * x + 17 * y) % 256) / 257).rounded())
        }
        let gray = try ImageFile.read(Fixtures.path("gray16.png"))
        assertGray(gray) { x, y in Int(expected((37 * x + 11 * y) % 256, x, y)) }
        let rgb = try ImageFile.read(Fixtures.path("rgb16.png"))
        let base = fixturePattern()
        for y in 0..<5 {
            for x in 0..<7 {
                let (r, g, b) = base[x, y]
                XCTAssertTrue(rgb[x, y] == (expected(Int(r), x, y), expected(Int(g), x, y), expected(Int(b), x, y)), "(\(x), \(y))")
            }
        }
    }

    /// 4-bit palette with tRNS: index (x + y) % 5 into the palette; transparency is ignored.
    func testPaletteExpandsAndIgnoresTransparency() throws {
        let palette: [(UInt8, UInt8, UInt8)] = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (250, 200, 10), (30, 40, 50)]
        let image = try ImageFile.read(Fixtures.path("palette4_trns.png"))
        XCTAssertEqual(image.width, 7)
        XCTAssertEqual(image.height, 5)
        for y in 0..<5 {
            for x in 0..<7 {
                XCTAssertTrue(image[x, y] == palette[(x + y) % 5], "(\(x), \(y))")
            }
        }
    }

    /// The codecs keep no global state: concurrent decodes (as the data loader does) agree with serial ones.
    func testConcurrentDecodingMatchesSerial() throws {
        let jpeg = try Fixtures.bytes("rgb.jpg")
        let png = try ImageFile.encodePNG(randomImage(width: 48, height: 40, seed: 5))
        let expected = [try ImageFile.decode(jpeg, source: "jpeg"), try ImageFile.decode(png, source: "png")]
        let results = LockedResults(count: 32)
        DispatchQueue.concurrentPerform(iterations: 32) { i in
            results.set(i, try? ImageFile.decode(i % 2 == 0 ? jpeg : png, source: "task \(i)"))
        }
        for i in 0..<32 { XCTAssertEqual(results.get(i), expected[i % 2], "task \(i)") }
    }

    func testEncodingAnEmptyImageThrows() {
        assertImageIOError(.invalidImage, source: "in-memory PNG") {
            try ImageFile.encodePNG(RGBImage(width: 0, height: 3, pixels: []))
        }
    }

    func testWritingUnderAFileThrowsWriteFailedNamingThePath() throws {
        let directory = try makeTemporaryDirectory(self)
        let blocker = directory + "/not-a-directory"
        try Data("x".utf8).write(to: URL(fileURLWithPath: blocker))
        let path = blocker + "/out.png"
        assertImageIOError(.writeFailed, source: path) {
            try ImageFile.writePNG(RGBImage(width: 2, height: 2, fill: (1, 2, 3)), to: path)
        }
    }

    private func assertGray(_ image: RGBImage, file: StaticString = #filePath, line: UInt = #line,
                            _ value: (Int, Int) -> Int) {
        XCTAssertEqual(image.width, 7, file: file, line: line)
        XCTAssertEqual(image.height, 5, file: file, line: line)
        guard image.width == 7, image.height == 5 else { return }
        for y in 0..<5 {
            for x in 0..<7 {
                let v = UInt8(value(x, y))
                XCTAssertTrue(image[x, y] == (v, v, v), "(\(x), \(y)): \(image[x, y]) ≠ \(v)", file: file, line: line)
            }
        }
    }

    /// Per-index result slots written by concurrent tasks (each index by exactly one task).
    private final class LockedResults: @unchecked Sendable {
        private var slots: [RGBImage?]
        private let lock = NSLock()
        init(count: Int) { slots = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ image: RGBImage?) { lock.lock(); slots[i] = image; lock.unlock() }
        func get(_ i: Int) -> RGBImage? { lock.lock(); defer { lock.unlock() }; return slots[i] }
    }

    private func bigEndian32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// CRC-32 as PNG (ISO 3309) and zlib define it, bitwise.
    private func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
