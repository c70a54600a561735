import Datasets
import Foundation
import ImageIO
import XCTest

/// Fixtures live next to this file (located via #filePath, so Package.swift needs no resources entry).
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

    static func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
}

/// A fresh temporary directory per test, removed at tear-down.
class TemporaryDirectoryTestCase: XCTestCase {
    var temp = ""

    override func setUpWithError() throws {
        temp = (NSTemporaryDirectory() as NSString).appendingPathComponent("t2ialign-datasets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: temp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: temp)
    }

    func path(_ relative: String) -> String { (temp as NSString).appendingPathComponent(relative) }

    func write(_ text: String, to relative: String) throws {
        let p = path(relative)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: p))
    }

    /// A solid-colour image with a marker pixel, so images are distinguishable and flips are visible.
    func image(_ value: UInt8, width: Int = 8, height: Int = 8) -> RGBImage {
        var im = RGBImage(width: width, height: height, fill: (value, value &+ 40, value &+ 80))
        im[0, 0] = (255, 0, 0)
        return im
    }

    /// A row in Pick-a-Pic form; image paths are filled in by the writer.
    func row(_ i: Int, label0: Double, user: Int = 1, caption0: String? = nil, caption1: String? = nil,
             hasLabel: Bool = true, areDifferent: Bool = true) -> PairRow {
        let uid0 = "u\(i)a", uid1 = "u\(i)b"
        let best = label0 == 0.5 ? "" : (label0 == 1 ? uid0 : uid1)
        return PairRow(caption: "prompt \(i)", jpg0: "", jpg1: "", label0: label0, label1: 1 - label0,
                       userID: user, rankingID: 1000 + i, image0UID: uid0, image1UID: uid1, bestImageUID: best,
                       model0: "gen-a", model1: "gen-b", hasLabel: hasLabel, areDifferent: areDifferent,
                       createdAt: "2024-01-0\(i % 9 + 1)T00:00:00Z", numExamplePerPrompt: 1,
                       caption0: caption0, caption1: caption1)
    }

    /// A dataset with `rows` written through `DatasetWriter` (images: 10·i for image 0, 10·i+5 for image 1).
    @discardableResult
    func makeDataset(_ rows: [PairRow], split: String = "train", resolution: Int = 8,
                     imageSize: (Int, Int) = (8, 8)) throws -> String {
        let writer = try DatasetWriter(directory: temp, resolution: resolution, metadata: ["creator": "tests"])
        for (i, r) in rows.enumerated() {
            try writer.append(r, image0: image(UInt8(10 * i % 200), width: imageSize.0, height: imageSize.1),
                              image1: image(UInt8((10 * i + 5) % 200), width: imageSize.0, height: imageSize.1), split: split)
        }
        try writer.finish()
        return temp
    }

    /// Runs `body`, expecting a malformed-row error; returns it.
    func expectRowError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> RowError? {
        do {
            try body()
            XCTFail("expected a malformed-row error", file: file, line: line)
        } catch DatasetError.malformedRow(let e) {
            return e
        } catch {
            XCTFail("expected a malformed-row error, got \(error)", file: file, line: line)
        }
        return nil
    }
}
