// Bad input never crashes: truncated, corrupt, empty, missing, mislabelled and oversize files give an
// ImageIOError naming the file, with a hint.
import Foundation
import ImageIO
import XCTest

final class CorruptInputTests: XCTestCase {
    func testTruncatedPNGIsCorruptAndSaysTruncated() throws {
        let bytes = try ImageFile.encodePNG(randomImage(width: 32, height: 32, seed: 9))
        let truncated = Array(bytes.prefix(bytes.count * 6 / 10))
        assertImageIOError(.corruptPNG, source: "cut.png") { try ImageFile.decode(truncated, source: "cut.png") }
        XCTAssertThrowsError(try ImageFile.decode(truncated, source: "cut.png")) { error in
            XCTAssertTrue("\(error)".contains("truncated"), "\(error)")
        }
    }

    /// Every prefix that stops before the image data is complete fails cleanly (IEND itself is not needed).
    func testEveryPNGPrefixFailsCleanly() throws {
        let bytes = try ImageFile.encodePNG(randomImage(width: 9, height: 6, seed: 10))
        let iendLength = 12
        for length in 1..<(bytes.count - iendLength) {
            XCTAssertThrowsError(try ImageFile.decode(Array(bytes.prefix(length)), source: "prefix"), "length \(length)")
        }
    }

    func testTruncatedJPEGIsCorruptAndSaysTruncated() throws {
        let bytes = try Fixtures.bytes("rgb.jpg")
        let truncated = Array(bytes.prefix(bytes.count / 2))
        assertImageIOError(.corruptJPEG, source: "half.jpg") { try ImageFile.decode(truncated, source: "half.jpg") }
        XCTAssertThrowsError(try ImageFile.decode(truncated, source: "half.jpg")) { error in
            XCTAssertTrue("\(error)".contains("truncated"), "\(error)")
        }
    }

    /// libjpeg would pad a short file with grey; every proper prefix must be an error instead.
    func testEveryJPEGPrefixFailsCleanly() throws {
        for name in ["rgb.jpg", "progressive.jpg"] {
            let bytes = try Fixtures.bytes(name)
            for length in 1..<bytes.count {
                XCTAssertThrowsError(try ImageFile.decode(Array(bytes.prefix(length)), source: name), "\(name) length \(length)")
            }
        }
    }

    func testRandomBytesAreUnknownFormat() {
        let bytes = randomBytes(count: 4096, seed: 11)
        assertImageIOError(.unknownFormat, source: "noise.bin") { try ImageFile.decode(bytes, source: "noise.bin") }
    }

    /// Random bodies behind valid signatures reach the codecs: they must fail as corrupt, never crash.
    func testRandomBytesBehindSignaturesFailAsCorrupt() {
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF]
        for seed in 0..<64 as Range<UInt64> {
            let body = randomBytes(count: 64 + Int(seed) * 37, seed: seed)
            assertImageIOError(.corruptPNG, source: "fuzz-\(seed)") { try ImageFile.decode(png + body, source: "fuzz-\(seed)") }
            XCTAssertThrowsError(try ImageFile.decode(jpeg + body, source: "fuzz-\(seed)"))
        }
    }

    /// A corrupted IDAT byte is caught by the chunk CRC.
    func testBitFlipInImageDataIsCorrupt() throws {
        var bytes = try ImageFile.encodePNG(randomImage(width: 16, height: 16, seed: 12))
        guard let idat = findChunk("IDAT", in: bytes) else { return XCTFail("no IDAT chunk") }
        bytes[idat + 8 + 5] ^= 0x10
        assertImageIOError(.corruptPNG, source: "flipped.png") { try ImageFile.decode(bytes, source: "flipped.png") }
    }

    /// A header claiming 20000×20000 is refused before any allocation.
    func testOversizePNGHeaderIsTooLarge() throws {
        var bytes = try ImageFile.encodePNG(RGBImage(width: 1, height: 1, fill: (0, 0, 0)))
        guard let ihdr = findChunk("IHDR", in: bytes) else { return XCTFail("no IHDR chunk") }
        for (offset, value) in [(ihdr + 8, UInt32(20000)), (ihdr + 12, UInt32(20000))] {
            for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (24 - 8 * UInt32(i))) }
        }
        let crc = crc32(Array(bytes[ihdr + 4..<ihdr + 8 + 13]))
        for i in 0..<4 { bytes[ihdr + 8 + 13 + i] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * UInt32(i))) }
        assertImageIOError(.tooLarge, source: "huge.png") { try ImageFile.decode(bytes, source: "huge.png") }
    }

    /// A 12-bit JPEG (SOF precision byte patched from 8 to 12) is valid but unsupported by the 8-bit decoder.
    func testTwelveBitJPEGIsUnsupported() throws {
        var bytes = try Fixtures.bytes("rgb.jpg")
        guard let sof = (2..<bytes.count - 1).first(where: { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC0 }) else {
            return XCTFail("no SOF0 marker in rgb.jpg")
        }
        XCTAssertEqual(bytes[sof + 4], 8)
        bytes[sof + 4] = 12
        assertImageIOError(.unsupported, source: "deep.jpg") { try ImageFile.decode(bytes, source: "deep.jpg") }
    }

    func testEmptyFileIsEmpty() throws {
        let path = try makeTemporaryDirectory(self) + "/empty.png"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data()))
        assertImageIOError(.empty, source: path) { try ImageFile.read(path) }
    }

    func testMissingFileIsFileNotFound() throws {
        let path = try makeTemporaryDirectory(self) + "/does-not-exist.png"
        assertImageIOError(.fileNotFound, source: path) { try ImageFile.read(path) }
    }

    func testTextFileNamedPNGIsUnknownFormatAndSaysText() throws {
        let path = try makeTemporaryDirectory(self) + "/notes.png"
        try Data("a photo of a red cube\n".utf8).write(to: URL(fileURLWithPath: path))
        assertImageIOError(.unknownFormat, source: path) { try ImageFile.read(path) }
        XCTAssertThrowsError(try ImageFile.read(path)) { error in
            XCTAssertTrue("\(error)".contains("text"), "\(error)")
        }
    }

    func testDirectoryIsUnreadable() throws {
        let path = try makeTemporaryDirectory(self)
        assertImageIOError(.unreadable, source: path) { try ImageFile.read(path) }
    }

    private func findChunk(_ type: String, in bytes: [UInt8]) -> Int? {
        var offset = 8
        while offset + 12 <= bytes.count {
            let length = Int(bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) })
            if String(decoding: bytes[offset + 4..<offset + 8], as: UTF8.self) == type { return offset }
            offset += 12 + length
        }
        return nil
    }

    private func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
