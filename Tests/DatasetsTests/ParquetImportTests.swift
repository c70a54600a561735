import Datasets
import Foundation
import ImageIO
import XCTest

/// Imports the Parquet shards written by Scripts/make_pickapic_parquet_fixture.py (pyarrow 26, the real
/// Pick-a-Pic schema) and checks every column of every row against the values the script recorded in
/// pickapic_expected.json, and every image against the pixels PIL decoded from the same JPEG bytes.
final class ParquetImportTests: TemporaryDirectoryTestCase {
    struct ExpectedRow: Decodable {
        let caption: String
        let label_0: Double, label_1: Double
        let user_id: Int, ranking_id: Int
        let image_0_uid: String, image_1_uid: String, best_image_uid: String
        let model_0: String, model_1: String
        let has_label: Bool, are_different: Bool
        let num_example_per_prompt: Int?
        let created_at: String
        let caption_0: String?, caption_1: String?
    }

    struct Expected: Decodable {
        let files: [String: [ExpectedRow]]
        /// uid → RGB bytes as decoded by PIL (`list(Image.open(...).convert("RGB").tobytes())`).
        let images: [String: [Int]]
        let image_width: Int, image_height: Int
    }

    static let shards = ["pickapic_snappy_dict.parquet", "pickapic_plain.parquet", "pickapic_gzip.parquet"]

    func expected() throws -> Expected {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("pickapic_expected.json")))
        return try JSONDecoder().decode(Expected.self, from: data)
    }

    func importedRows(_ dir: String, split: String = "train") throws -> [PairRow] {
        let text = try String(contentsOfFile: (dir as NSString).appendingPathComponent(split + ".jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(PairRow.self, from: Data($0.utf8)) }
    }

    func testEveryColumnOfEveryShardVariant() throws {
        let expected = try expected()
        for shard in Self.shards {
            let out = path(shard)
            let report = try PickAPicImporter.run(shards: [Fixtures.path(shard)], output: out)
            XCTAssertEqual(report.rowsRead, 6, shard)
            XCTAssertEqual(report.rowsWritten, 6, shard)
            let rows = try importedRows(out)
            let want = try XCTUnwrap(expected.files[shard])
            XCTAssertEqual(rows.count, want.count, shard)
            for (r, e) in zip(rows, want) {
                let context = "\(shard) ranking \(e.ranking_id)"
                XCTAssertEqual(r.caption, e.caption, context)
                XCTAssertEqual(r.label0, e.label_0, context)
                XCTAssertEqual(r.label1, e.label_1, context)
                XCTAssertEqual(r.userID, e.user_id, context)
                XCTAssertEqual(r.rankingID, e.ranking_id, context)
                XCTAssertEqual(r.image0UID, e.image_0_uid, context)
                XCTAssertEqual(r.image1UID, e.image_1_uid, context)
                XCTAssertEqual(r.bestImageUID, e.best_image_uid, context)
                XCTAssertEqual(r.model0, e.model_0, context)
                XCTAssertEqual(r.model1, e.model_1, context)
                XCTAssertEqual(r.hasLabel, e.has_label, context)
                XCTAssertEqual(r.areDifferent, e.are_different, context)
                XCTAssertEqual(r.numExamplePerPrompt, e.num_example_per_prompt, context)
                XCTAssertEqual(r.createdAt, e.created_at, context)
                XCTAssertEqual(r.caption0, e.caption_0, context)
                XCTAssertEqual(r.caption1, e.caption_1, context)
                XCTAssertEqual(r.jpg0, "images/\(e.image_0_uid).jpg", context)
                XCTAssertEqual(r.jpg1, "images/\(e.image_1_uid).jpg", context)
                for (path, uid) in [(r.jpg0, e.image_0_uid), (r.jpg1, e.image_1_uid)] {
                    let image = try ImageFile.read((out as NSString).appendingPathComponent(path))
                    XCTAssertEqual(image.width, expected.image_width)
                    XCTAssertEqual(image.height, expected.image_height)
                    let pil = try XCTUnwrap(expected.images[uid])
                    let maxDiff = zip(image.pixels, pil).map { abs(Int($0) - $1) }.max() ?? 0
                    XCTAssertLessThanOrEqual(maxDiff, 2, "\(context) \(uid): libjpeg vs PIL")
                }
            }
            let manifest = try DatasetManifest.read(directory: out)
            XCTAssertEqual(manifest.resolution, 32)
            XCTAssertEqual(manifest.splits, ["train": 6])
        }
    }

    func testImportedShardReadsAsPairsWinnerFirst() throws {
        let out = path("ds")
        try PickAPicImporter.run(shards: [Fixtures.path("pickapic_snappy_dict.parquet")], output: out)
        let ds = try PairDataset(directory: out, split: "train")
        // 6 rows: 3 usable pairs, 1 tie (dropped), 1 has_label=false, 1 are_different=false.
        XCTAssertEqual(ds.count, 3)
        XCTAssertEqual(ds.report.ties, 1)
        XCTAssertEqual(ds.report.filtered, [.tie: 1, .notLabeled: 1, .notDifferent: 1])
        XCTAssertEqual(ds.report.pairsPerUser, [7: 2, 3_000_000_000: 1])
        let second = try ds.pair(at: 1)  // label_0 = 0: image 1 won
        XCTAssertEqual(second.winnerImage, "images/img-01-1.jpg")
        XCTAssertEqual(second.loserImage, "images/img-01-0.jpg")
        XCTAssertEqual(second.winnerModel, "render-good")
        XCTAssertTrue(second.swapped)
    }

    func testResizeLimitAndSecondSplit() throws {
        let expected = try expected()
        let out = path("ds")
        let report = try PickAPicImporter.run(shards: [Fixtures.path("pickapic_gzip.parquet")], output: out,
                                              options: .init(resize: 4, limit: 2, split: "train"))
        XCTAssertEqual(report.rowsWritten, 2)
        let rows = try importedRows(out)
        XCTAssertEqual(rows.map(\.rankingID), [101, 102])
        let transform = try ImageTransform(resolution: 4)
        for r in rows {
            XCTAssertEqual(r.jpg0, "images/\(r.image0UID).png")
            let stored = try ImageFile.read((out as NSString).appendingPathComponent(r.jpg0))
            let pil = try XCTUnwrap(expected.images[r.image0UID]).map { UInt8($0) }
            let want = transform.apply(RGBImage(width: expected.image_width, height: expected.image_height, pixels: pil))
            XCTAssertEqual(stored.width, 4)
            XCTAssertEqual(stored.height, 4)
            let maxDiff = zip(stored.pixels, want.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
            XCTAssertLessThanOrEqual(maxDiff, 2)
        }
        // A second split goes next to the first.
        try PickAPicImporter.run(shards: [Fixtures.path("pickapic_plain.parquet")], output: out,
                                 options: .init(resize: 4, split: "validation"))
        let manifest = try DatasetManifest.read(directory: out)
        XCTAssertEqual(manifest.resolution, 4)
        XCTAssertEqual(manifest.splits, ["train": 2, "validation": 6])
        XCTAssertEqual(try importedRows(out, split: "validation").count, 6)
    }

    func testMalformedRowsNameShardRowAndColumn() throws {
        let shard = Fixtures.path("pickapic_bad_rows.parquet")
        let error = expectRowError { try PickAPicImporter.run(shards: [shard], output: path("strict")) }
        XCTAssertEqual(error?.file, shard)
        XCTAssertEqual(error?.line, 2)
        XCTAssertEqual(error?.column, "jpg_0")
        XCTAssertEqual(error?.defect, .undecodableImage)
        XCTAssertTrue(error?.description.contains("--lenient") ?? false)

        let report = try PickAPicImporter.run(shards: [shard], output: path("lenient"), options: .init(lenient: true))
        XCTAssertEqual(report.rowsRead, 4)
        XCTAssertEqual(report.rowsWritten, 1)
        XCTAssertEqual(report.skipped, [.undecodableImage: 1, .badLabel: 1, .wrongType: 1])
        XCTAssertTrue(report.firstErrors[.wrongType]?.contains("column 'caption'") ?? false)
        XCTAssertTrue(report.firstErrors[.badLabel]?.contains(":3: column 'label_0'") ?? false)
    }

    func testUnsupportedCodecNamesTheColumn() throws {
        let shard = Fixtures.path("pickapic_zstd.parquet")
        XCTAssertThrowsError(try PickAPicImporter.run(shards: [shard], output: path("out"))) { error in
            guard let e = error as? ParquetError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.kind, .unsupported)
            XCTAssertEqual(e.file, shard)
            XCTAssertNotNil(e.column)
            XCTAssertTrue(e.description.contains("zstd"), e.description)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out/train.jsonl")))
    }

    func testMissingColumnIsASchemaError() throws {
        let shard = Fixtures.path("pickapic_no_user_id.parquet")
        XCTAssertThrowsError(try PickAPicImporter.run(shards: [shard], output: path("out"))) { error in
            guard let e = error as? ParquetError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.kind, .schema)
            XCTAssertEqual(e.column, "user_id")
        }
    }

    func testNotParquetTruncatedAndMissingFiles() throws {
        try write("caption,label_0\nhello,1\n", to: "shard.parquet")
        XCTAssertThrowsError(try ParquetFile(path: path("shard.parquet"))) { error in
            XCTAssertEqual((error as? ParquetError)?.kind, .corrupt)
            XCTAssertTrue("\(error)".contains("not a Parquet file"), "\(error)")
        }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("pickapic_plain.parquet")))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path("half.parquet")))
        XCTAssertThrowsError(try ParquetFile(path: path("half.parquet"))) { error in
            XCTAssertEqual((error as? ParquetError)?.kind, .corrupt)
            XCTAssertTrue("\(error)".contains("truncated"), "\(error)")
        }
        try Data().write(to: URL(fileURLWithPath: path("empty.parquet")))
        XCTAssertThrowsError(try ParquetFile(path: path("empty.parquet"))) { error in
            XCTAssertEqual((error as? ParquetError)?.kind, .corrupt)
        }
        XCTAssertThrowsError(try ParquetFile(path: path("nope.parquet"))) { error in
            XCTAssertEqual((error as? ParquetError)?.kind, .io)
        }
    }

    /// Corrupting a data page (past the footer checks) gives a typed error, never a crash.
    func testCorruptPagesThrow() throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("pickapic_snappy_dict.parquet"))))
        // Scribble over the column data (bytes after the leading magic), leaving the footer intact.
        for i in stride(from: 4, to: bytes.count / 2, by: 3) { bytes[i] = UInt8(truncatingIfNeeded: i * 31) }
        try Data(bytes).write(to: URL(fileURLWithPath: path("bad.parquet")))
        XCTAssertThrowsError(try PickAPicImporter.run(shards: [path("bad.parquet")], output: path("out"))) { error in
            XCTAssertTrue(error is ParquetError || error is DatasetError, "\(error)")
        }
    }

    /// The snappy shard was written with tiny page and dictionary limits: its chunks span several data
    /// pages (v2), and the image column falls back from dictionary to PLAIN pages mid-chunk.
    func testMultiPageAndDictionaryFallbackChunks() throws {
        let file = try ParquetFile(path: Fixtures.path("pickapic_snappy_dict.parquet"))
        XCTAssertEqual(file.rowGroupCount, 2)
        XCTAssertEqual((0..<2).map { file.rowCount(ofRowGroup: $0) }, [4, 2])
        let jpg = try XCTUnwrap(file.columnIndex(named: "jpg_0"))
        let reader = try file.columnReader(rowGroup: 0, column: jpg)
        var sizes: [Int] = []
        for _ in 0..<4 {
            guard case .bytes(let b)? = try reader.next() else { return XCTFail("jpg_0 should hold bytes") }
            XCTAssertEqual(Array(b.prefix(3)), [0xFF, 0xD8, 0xFF])
            sizes.append(b.count)
        }
        XCTAssertEqual(reader.dictionaryPagesRead, 1)
        XCTAssertGreaterThan(reader.dataPagesRead, 1)
        XCTAssertEqual(reader.remaining, 0)
        let caption = try file.columnReader(rowGroup: 0, column: try XCTUnwrap(file.columnIndex(named: "caption")))
        for _ in 0..<4 { _ = try caption.next() }
        XCTAssertGreaterThan(caption.dataPagesRead, 1)
    }

    /// Random byte corruptions of every variant (a fixed-seed LCG, so failures reproduce): each import
    /// either succeeds or throws a typed error; a trap would kill the test run.
    func testRandomCorruptionsNeverCrash() throws {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        for iteration in 0..<90 {
            let shard = Self.shards[iteration % Self.shards.count]
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path(shard))))
            for _ in 0...next(3) { bytes[next(bytes.count)] = UInt8(next(256)) }
            let file = path("fuzz-\(iteration).parquet")
            try Data(bytes).write(to: URL(fileURLWithPath: file))
            do {
                try PickAPicImporter.run(shards: [file], output: path("fuzz-out-\(iteration)"), options: .init(lenient: true))
            } catch {
                XCTAssertTrue(error is ParquetError || error is DatasetError, "\(shard) #\(iteration): \(error)")
            }
        }
    }

    func testSchemaOfStructImageColumns() throws {
        let file = try ParquetFile(path: Fixtures.path("pickapic_plain.parquet"))
        XCTAssertEqual(file.rowCount, 6)
        XCTAssertEqual(file.rowGroupCount, 1)
        let bytes = try XCTUnwrap(file.columnIndex(named: "jpg_0.bytes"))
        XCTAssertEqual(file.columns[bytes].path, ["jpg_0", "bytes"])
        XCTAssertEqual(file.columns[bytes].maxDefinitionLevel, 2)  // optional struct, optional field
        // The HF Image struct's `path` leaf is all nulls in these shards.
        let pathColumn = try XCTUnwrap(file.columnIndex(named: "jpg_0.path"))
        let reader = try file.columnReader(rowGroup: 0, column: pathColumn)
        for _ in 0..<6 { XCTAssertNil(try reader.next()) }
        XCTAssertThrowsError(try reader.next())
    }
}
