import Datasets
import Foundation
import ImageIO
import XCTest

/// The on-disk layout: DatasetWriter output, dataset.json validation, filtering, winner-first order, reports.
final class DatasetFormatTests: TemporaryDirectoryTestCase {
    func testWriterLayoutAndRoundTrip() throws {
        let rows = [row(1, label0: 1, caption0: "c0", caption1: "c1"), row(2, label0: 0), row(3, label0: 0.5)]
        try makeDataset(rows)
        let manifest = try DatasetManifest.read(directory: temp)
        XCTAssertEqual(manifest.format, "pickapic-pairs")
        XCTAssertEqual(manifest.version, 1)
        XCTAssertEqual(manifest.resolution, 8)
        XCTAssertEqual(manifest.splits, ["train": 3])
        XCTAssertEqual(manifest.metadata, ["creator": "tests"])
        XCTAssertEqual(DatasetManifest.splitFiles(directory: temp), ["train"])
        // No partial files left behind; images named by uid.
        let names = try FileManager.default.contentsOfDirectory(atPath: temp).sorted()
        XCTAssertEqual(names, ["dataset.json", "images", "train.jsonl"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("images/u2b.png")))

        // The JSON keys are the Pick-a-Pic column names; optional columns are omitted when nil.
        let lines = try String(contentsOfFile: path("train.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        XCTAssertEqual(Set(first?.keys.map { $0 } ?? []), Set(PairRow.CodingKeys.allCases.map(\.rawValue)))
        let second = try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any]
        XCTAssertNil(second?["caption_0"])
        XCTAssertEqual(second?["jpg_0"] as? String, "images/u2a.png")

        let ds = try PairDataset(directory: temp, split: "train", options: .init(keepTies: true))
        for i in 0..<3 {
            var expected = rows[i]
            expected.jpg0 = "images/u\(i + 1)a.png"
            expected.jpg1 = "images/u\(i + 1)b.png"
            XCTAssertEqual(try ds.row(at: i), expected)
        }
        let images = try ds.images(of: try ds.pair(at: 0))
        XCTAssertEqual(images.winner, image(0))
        XCTAssertEqual(images.loser, image(5))
    }

    func testFilteringAndReport() throws {
        try makeDataset([
            row(1, label0: 1, user: 10), row(2, label0: 0, user: 10), row(3, label0: 0.5, user: 11),
            row(4, label0: 1, user: 11, hasLabel: false), row(5, label0: 1, user: 12, areDifferent: false),
            row(6, label0: 0, user: 12), row(7, label0: 1, user: 10),
        ])
        let ds = try PairDataset(directory: temp, split: "train")
        XCTAssertEqual(ds.count, 4)
        let r = ds.report
        XCTAssertEqual(r.rows, 7)
        XCTAssertEqual(r.pairs, 4)
        XCTAssertEqual(r.ties, 1)
        XCTAssertFalse(r.tiesKept)
        XCTAssertEqual(r.filtered, [.tie: 1, .notLabeled: 1, .notDifferent: 1])
        XCTAssertEqual(r.malformed, [:])
        XCTAssertEqual(r.pairsPerUser, [10: 3, 12: 1])
        XCTAssertEqual(r.pairsPerUserSummary?.min, 1)
        XCTAssertEqual(r.pairsPerUserSummary?.median, 1)
        XCTAssertEqual(r.pairsPerUserSummary?.max, 3)
        XCTAssertEqual(r.generatorImages, ["gen-a": 4, "gen-b": 4])
        XCTAssertEqual(r.generatorWins, ["gen-a": 2, "gen-b": 2])
        XCTAssertTrue(r.description.contains("4 pairs"))
        XCTAssertEqual(try (0..<4).map { try ds.pair(at: $0).line }, [1, 2, 6, 7])

        let withTies = try PairDataset(directory: temp, split: "train", options: .init(keepTies: true))
        XCTAssertEqual(withTies.count, 5)
        XCTAssertEqual(withTies.report.ties, 1)
        XCTAssertEqual(withTies.report.filtered, [.notLabeled: 1, .notDifferent: 1])
        let tie = try withTies.pair(at: 2)
        XCTAssertTrue(tie.isTie)
        XCTAssertFalse(tie.swapped)
        // Reports encode to JSON (for `data inspect --json` and logs).
        XCTAssertNoThrow(try JSONEncoder().encode(withTies.report))
    }

    func testUserSelectionSkipsAndCountsOtherUsers() throws {
        try makeDataset([row(1, label0: 1, user: 10), row(2, label0: 0, user: 11), row(3, label0: 1, user: 12),
                         row(4, label0: 0.5, user: 10)])
        let ds = try PairDataset(directory: temp, split: "train", options: .init(users: [10, 12]))
        XCTAssertEqual(ds.count, 2)
        XCTAssertEqual(try (0..<2).map { try ds.pair(at: $0).userID }, [10, 12])
        XCTAssertEqual(ds.report.filtered, [.otherUser: 1, .tie: 1])
        XCTAssertEqual(ds.report.pairsPerUser, [10: 1, 12: 1])
    }

    func testWinnerFirstSwapsImagesCaptionsAndModels() throws {
        try makeDataset([row(1, label0: 0, caption0: "first caption", caption1: "second caption")])
        let ds = try PairDataset(directory: temp, split: "train")
        let p = try ds.pair(at: 0)
        XCTAssertTrue(p.swapped)
        XCTAssertEqual(p.winnerImage, "images/u1b.png")
        XCTAssertEqual(p.loserImage, "images/u1a.png")
        XCTAssertEqual(p.winnerCaption, "second caption")
        XCTAssertEqual(p.loserCaption, "first caption")
        XCTAssertEqual(p.winnerModel, "gen-b")
        XCTAssertEqual(p.loserModel, "gen-a")
        XCTAssertEqual(p.prompt, "prompt 1")
        let images = try ds.images(of: p)
        XCTAssertEqual(images.winner, image(5))
        XCTAssertEqual(images.loser, image(0))
    }

    func testMissingManifest() throws {
        try write("", to: "train.jsonl")
        XCTAssertThrowsError(try PairDataset(directory: temp)) { error in
            XCTAssertEqual(error as? DatasetError, .missingManifest(path: path("dataset.json")))
            XCTAssertTrue("\(error)".contains("dataset.json"))
        }
    }

    func testUnknownFormatAndVersion() throws {
        try write("{\"format\": \"coco\", \"version\": 1, \"resolution\": 32}", to: "dataset.json")
        XCTAssertThrowsError(try DatasetManifest.read(directory: temp)) { error in
            XCTAssertEqual(error as? DatasetError, .unknownFormat(path: path("dataset.json"), found: "coco"))
        }
        try write("{\"format\": \"pickapic-pairs\", \"version\": 7, \"resolution\": 32}", to: "dataset.json")
        XCTAssertThrowsError(try DatasetManifest.read(directory: temp)) { error in
            XCTAssertEqual(error as? DatasetError, .unsupportedVersion(path: path("dataset.json"), found: 7))
        }
        for bad in ["{\"format\": \"pickapic-pairs\", \"version\": 1}", "[1]", "{not json",
                    "{\"format\": 3, \"version\": 1, \"resolution\": 32}",
                    "{\"format\": \"pickapic-pairs\", \"version\": 1, \"resolution\": -4}"] {
            try write(bad, to: "dataset.json")
            XCTAssertThrowsError(try DatasetManifest.read(directory: temp), bad) { error in
                guard case DatasetError.invalidManifest(let p, _)? = error as? DatasetError else { return XCTFail("\(error)") }
                XCTAssertEqual(p, path("dataset.json"))
            }
        }
    }

    func testMissingSplitListsTheAvailableOnes() throws {
        try makeDataset([row(1, label0: 1)], split: "validation")
        XCTAssertThrowsError(try PairDataset(directory: temp, split: "train")) { error in
            XCTAssertEqual(error as? DatasetError, .missingSplit(directory: temp, split: "train", available: ["validation"]))
        }
    }

    func testWriterReplacesOrKeepsOtherSplits() throws {
        try makeDataset([row(1, label0: 1)], split: "test")
        XCTAssertEqual(DatasetManifest.splitFiles(directory: temp), ["test"])
        // keepOtherSplits adds a split next to the existing one.
        let add = try DatasetWriter(directory: temp, resolution: 8, existing: .keepOtherSplits)
        try add.append(row(2, label0: 0), image0: image(1), image1: image(2), split: "train")
        // Nothing changes on disk before finish().
        XCTAssertEqual(DatasetManifest.splitFiles(directory: temp), ["test"])
        try add.finish()
        XCTAssertEqual(DatasetManifest.splitFiles(directory: temp), ["test", "train"])
        XCTAssertEqual(try DatasetManifest.read(directory: temp).splits, ["test": 1, "train": 1])
        XCTAssertEqual(try DatasetManifest.read(directory: temp).metadata, ["creator": "tests"])
        // A resolution mismatch is refused when keeping splits.
        XCTAssertThrowsError(try DatasetWriter(directory: temp, resolution: 16, existing: .keepOtherSplits))
        // The default replaces the whole dataset.
        let replace = try DatasetWriter(directory: temp, resolution: 16)
        try replace.append(row(3, label0: 1), image0: image(3), image1: image(4), split: "validation")
        try replace.finish()
        XCTAssertEqual(DatasetManifest.splitFiles(directory: temp), ["validation"])
        XCTAssertEqual(try DatasetManifest.read(directory: temp).splits, ["validation": 1])
    }

    func testWriterRejectsBadArguments() throws {
        XCTAssertThrowsError(try DatasetWriter(directory: temp, resolution: 0))
        XCTAssertThrowsError(try DatasetWriter(directory: temp, resolution: 8, metadata: ["format": "x"]))
        let w = try DatasetWriter(directory: temp, resolution: 8)
        XCTAssertThrowsError(try w.append(row(1, label0: 1), image0: image(1), image1: image(2), split: "../evil"))
        var noUID = row(2, label0: 1)
        noUID.image0UID = ""
        XCTAssertThrowsError(try w.append(noUID, image0: image(1), image1: image(2), split: "train"))
        try w.finish()
        XCTAssertThrowsError(try w.append(row(3, label0: 1), split: "train"))
        XCTAssertEqual(DatasetWriter.imagePath(uid: "a/b c"), "images/a_b_c.png")
        XCTAssertEqual(DatasetWriter.imagePath(uid: "..x", extension: "jpg"), "images/_..x.jpg")
    }

    func testAbandonedWriterLeavesNoPartialFiles() throws {
        do {
            let w = try DatasetWriter(directory: temp, resolution: 8)
            try w.append(row(1, label0: 1), image0: image(1), image1: image(2), split: "train")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: temp)
        XCTAssertFalse(names.contains { $0.hasSuffix(".partial") || $0.hasSuffix(".jsonl") }, "\(names)")
        XCTAssertFalse(names.contains("dataset.json"))
    }

    func testParallelAppendsAreAllWritten() throws {
        let w = try DatasetWriter(directory: temp, resolution: 8)
        let rows = (0..<40).map { row($0, label0: $0 % 2 == 0 ? 1 : 0) }
        let images = (0..<80).map { image(UInt8($0)) }
        DispatchQueue.concurrentPerform(iterations: rows.count) { i in
            try? w.append(rows[i], image0: images[i], image1: images[40 + i], split: "train")
        }
        try w.finish()
        XCTAssertEqual(w.rowCounts, ["train": 40])
        let ds = try PairDataset(directory: temp, split: "train", options: .init(imageCheck: .decode))
        XCTAssertEqual(ds.count, 40)
        XCTAssertEqual(Set(try (0..<40).map { try ds.row(at: $0).rankingID }), Set((0..<40).map { 1000 + $0 }))
    }
}

/// The `data inspect` contact sheet.
final class ContactSheetTests: TemporaryDirectoryTestCase {
    func testSheetShowsEvenlySpacedPairsWinnerLeft() throws {
        try makeDataset((0..<10).map { row($0, label0: $0 % 2 == 0 ? 1 : 0) })
        let ds = try PairDataset(directory: temp, split: "train")
        XCTAssertEqual(PairContactSheet.sampleIndices(of: ds, count: 4), [0, 2, 5, 7])
        XCTAssertEqual(PairContactSheet.sampleIndices(of: ds, count: 50), Array(0..<10))
        let sheet = try PairContactSheet.make(dataset: ds, count: 3, cellScale: 2)
        XCTAssertGreaterThan(sheet.width, 2 * 2 * 8)
        XCTAssertGreaterThan(sheet.height, 3 * 2 * 8)
        // Pair 0 (label_0 = 1): its winner image(0) is filled (0, 40, 80), its loser image(5) (5, 45, 85);
        // the winner is drawn in the left column.
        func firstX(_ c: (UInt8, UInt8, UInt8)) -> Int? {
            for y in 0..<sheet.height { for x in 0..<sheet.width where sheet[x, y] == c { return x } }
            return nil
        }
        let winnerX = try XCTUnwrap(firstX((0, 40, 80)))
        let loserX = try XCTUnwrap(firstX((5, 45, 85)))
        XCTAssertLessThan(winnerX, loserX)
    }
}
