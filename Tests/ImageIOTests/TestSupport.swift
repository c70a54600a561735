// Shared helpers for ImageIOTests: fixture paths, temporary directories, deterministic test images.
import Foundation
import ImageIO
import XCTest

enum Fixtures {
    /// Fixtures are located next to this file (no Package.swift resources needed); they are made by
    /// Scripts/make_image_fixtures.py.
    static func path(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
            .appendingPathComponent(name).path
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(name))))
    }
}

/// A fresh directory under the system temp dir, removed when the test finishes.
func makeTemporaryDirectory(_ test: XCTestCase) throws -> String {
    let path = NSTemporaryDirectory() + "imageio-tests-\(getpid())-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}

/// The base pattern of the PNG fixtures (Scripts/make_image_fixtures.py `pattern_rgb`):
/// r = (37x + 11y) % 256, g = (5x + 53y + 20) % 256, b = (13xy + 7) % 256.
func fixturePattern(width: Int = 7, height: Int = 5) -> RGBImage {
    var image = RGBImage(width: width, height: height, fill: (0, 0, 0))
    for y in 0..<height {
        for x in 0..<width {
            image[x, y] = (UInt8((37 * x + 11 * y) % 256), UInt8((5 * x + 53 * y + 20) % 256), UInt8((13 * x * y + 7) % 256))
        }
    }
    return image
}

/// A grey image (R = G = B) of the resampling pattern used for the PyTorch references: (37x + 11y² + 5) % 256.
func resamplePattern(width: Int, height: Int) -> RGBImage {
    var image = RGBImage(width: width, height: height, fill: (0, 0, 0))
    for y in 0..<height {
        for x in 0..<width {
            let v = UInt8((37 * x + 11 * y * y + 5) % 256)
            image[x, y] = (v, v, v)
        }
    }
    return image
}

/// Deterministic pseudo-random bytes (SplitMix64), so failures reproduce.
func randomBytes(count: Int, seed: UInt64) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return UInt8(truncatingIfNeeded: z ^ (z >> 31))
    }
}

func randomImage(width: Int, height: Int, seed: UInt64) -> RGBImage {
    RGBImage(width: width, height: height, pixels: randomBytes(count: width * height * 3, seed: seed))
}

/// Asserts that `body` throws an `ImageIOError` of `kind` whose description mentions `source`.
func assertImageIOError<T>(_ kind: ImageIOError.Kind, source: String, file: StaticString = #filePath, line: UInt = #line,
                           _ body: () throws -> T) {
    do {
        _ = try body()
        XCTFail("expected ImageIOError.\(kind) for \(source), got a result", file: file, line: line)
    } catch let error as ImageIOError {
        XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line)
        XCTAssertTrue(error.description.contains(source), "error does not name \(source): \(error)", file: file, line: line)
        XCTAssertFalse(error.hint.isEmpty, "error gives no hint: \(error)", file: file, line: line)
    } catch {
        XCTFail("expected ImageIOError, got \(type(of: error)): \(error)", file: file, line: line)
    }
}
