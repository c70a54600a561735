import Datasets
import Foundation
import ImageIO
import XCTest

/// One test per kind of malformed input: each is an error naming the file, the 1-based line and the
/// column (strict), or a skipped row counted under its kind (lenient).
final class RowValidationTests: TemporaryDirectoryTestCase {
    /// A dataset whose train.jsonl is two good rows followed by `extra` (a raw line, newline added
    /// unless `terminated` is false). Images of the good rows exist; bad rows reuse their paths.
    func dataset(appending extra: String, terminated: Bool = true) throws -> String {
        try makeDataset([row(1, label0: 1), row(2, label0: 0)])
        let file = path("train.jsonl")
        var text = try String(contentsOfFile: file, encoding: .utf8)
        text += extra + (terminated ? "\n" : "")
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        return temp
    }

    /// A good row's columns as JSON texts, with `changes` applied (nil removes the column).
    func line(_ changes: [String: String?] = [:]) -> String {
        var columns: [(String, String)] = [
            ("caption", "\"a prompt\""), ("jpg_0", "\"images/u1a.png\""), ("jpg_1", "\"images/u1b.png\""),
            ("label_0", "1"), ("label_1", "0"), ("user_id", "5"), ("ranking_id", "77"),
            ("image_0_uid", "\"u1a\""), ("image_1_uid", "\"u1b\""), ("best_image_uid", "\"u1a\""),
            ("model_0", "\"m0\""), ("model_1", "\"m1\""), ("has_label", "true"), ("are_different", "true"),
            ("created_at", "\"2024-01-01T00:00:00Z\""),
        ]
        for (key, value) in changes {
            if let i = columns.firstIndex(where: { $0.0 == key }) {
                if let value { columns[i].1 = value } else { columns.remove(at: i) }
            } else if let value {
                columns.append((key, value))
            }
        }
        return "{" + columns.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
    }

    /// Strict reading fails at line 3 with this column and kind; lenient reading skips exactly that row.
    func check(_ extra: String, column: String?, defect: RowDefect, terminated: Bool = true,
               file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = try dataset(appending: extra, terminated: terminated)
        let error = expectRowError({ _ = try PairDataset(directory: dir, split: "train") }, file: file, line: line)
        XCTAssertEqual(error?.file, path("train.jsonl"), file: file, line: line)
        XCTAssertEqual(error?.line, 3, file: file, line: line)
        XCTAssertEqual(error?.column, column, file: file, line: line)
        XCTAssertEqual(error?.defect, defect, file: file, line: line)
        let text = error?.description ?? ""
        XCTAssertTrue(text.contains("train.jsonl:3"), text, file: file, line: line)
        if let column { XCTAssertTrue(text.contains("'\(column)'"), text, file: file, line: line) }

        let lenient = try PairDataset(directory: dir, split: "train", options: .init(lenient: true))
        XCTAssertEqual(lenient.count, 2, file: file, line: line)
        XCTAssertEqual(lenient.report.malformed, [defect: 1], file: file, line: line)
        XCTAssertNotNil(lenient.report.firstErrors[defect], file: file, line: line)
    }

    func testGoodLineIsAccepted() throws {
        let dir = try dataset(appending: line())
        let ds = try PairDataset(directory: dir, split: "train")
        XCTAssertEqual(ds.count, 3)
        XCTAssertEqual(try ds.row(at: 2).rankingID, 77)
    }

    func testMissingColumn() throws {
        try check(line(["user_id": nil]), column: "user_id", defect: .missingColumn)
    }

    func testBadLabel() throws {
        try check(line(["label_0": "0.7", "label_1": "0.3"]), column: "label_0", defect: .badLabel)
    }

    func testLabelsNotSummingToOne() throws {
        try check(line(["label_0": "1", "label_1": "1"]), column: "label_1", defect: .labelSum)
    }

    func testBestImageContradictingLabels() throws {
        try check(line(["best_image_uid": "\"u1b\""]), column: "best_image_uid", defect: .bestImageMismatch)
    }

    func testMissingImageFile() throws {
        try check(line(["jpg_1": "\"images/nowhere.png\""]), column: "jpg_1", defect: .missingImage)
    }

    func testUndecodableImage() throws {
        try write("this is not a PNG", to: "images/broken.png")
        let dir = try dataset(appending: line(["jpg_0": "\"images/broken.png\""]))
        // Existence checks pass; decoding (at open with .decode, or in a batch) finds it.
        XCTAssertEqual(try PairDataset(directory: dir, split: "train").count, 3)
        let error = expectRowError { _ = try PairDataset(directory: dir, split: "train", options: .init(imageCheck: .decode)) }
        XCTAssertEqual(error?.line, 3)
        XCTAssertEqual(error?.column, "jpg_0")
        XCTAssertEqual(error?.defect, .undecodableImage)
        let lenient = try PairDataset(directory: dir, split: "train", options: .init(lenient: true, imageCheck: .decode))
        XCTAssertEqual(lenient.count, 2)
        XCTAssertEqual(lenient.report.malformed, [.undecodableImage: 1])
    }

    func testWrongJSONTypes() throws {
        try check(line(["user_id": "\"five\""]), column: "user_id", defect: .wrongType)
        try check(line(["has_label": "1"]), column: "has_label", defect: .wrongType)
        try check(line(["label_0": "\"1\""]), column: "label_0", defect: .wrongType)
        try check(line(["caption": "null"]), column: "caption", defect: .wrongType)
        try check(line(["caption_0": "3"]), column: "caption_0", defect: .wrongType)
    }

    func testInvalidJSON() throws {
        try check("{\"caption\": \"a\", oops}", column: nil, defect: .invalidJSON)
    }

    func testNotAnObject() throws {
        try check("[1, 2, 3]", column: nil, defect: .notAnObject)
    }

    func testTruncatedLastLine() throws {
        let full = line()
        try check(String(full.prefix(full.count / 2)), column: nil, defect: .truncatedLastLine, terminated: false)
    }

    func testUnterminatedButCompleteLastLineIsFine() throws {
        let dir = try dataset(appending: line(), terminated: false)
        XCTAssertEqual(try PairDataset(directory: dir, split: "train").count, 3)
    }

    func testEmptyFile() throws {
        try makeDataset([row(1, label0: 1)])
        try Data().write(to: URL(fileURLWithPath: path("validation.jsonl")))
        let error = expectRowError { _ = try PairDataset(directory: temp, split: "validation") }
        XCTAssertEqual(error?.defect, .emptyFile)
        XCTAssertEqual(error?.line, 1)
        XCTAssertEqual(error?.file, path("validation.jsonl"))
        let lenient = try PairDataset(directory: temp, split: "validation", options: .init(lenient: true))
        XCTAssertEqual(lenient.count, 0)
        XCTAssertEqual(lenient.report.malformed, [.emptyFile: 1])
        // A loader over no pairs says so instead of spinning.
        XCTAssertThrowsError(try PairLoader(dataset: lenient, batchSize: 1, seed: 0)) { error in
            guard case DatasetError.noPairs? = error as? DatasetError else { return XCTFail("\(error)") }
        }
    }

    func testLenientCountsEachKindSeparately() throws {
        let extra = [line(["user_id": nil]), line(["label_0": "0.2"]), "not json", line(["jpg_0": "\"images/x.png\""])]
        let dir = try dataset(appending: extra.joined(separator: "\n"))
        let ds = try PairDataset(directory: dir, split: "train", options: .init(lenient: true))
        XCTAssertEqual(ds.count, 2)
        XCTAssertEqual(ds.report.rows, 6)
        XCTAssertEqual(ds.report.malformed, [.missingColumn: 1, .badLabel: 1, .invalidJSON: 1, .missingImage: 1])
        XCTAssertEqual(ds.report.skipped, 4)
    }
}

/// The row JSON parser: types kept apart, escapes, and strictness.
final class JSONParsingTests: XCTestCase {
    func parse(_ text: String) throws -> JSONValue { try JSONValue.parse(Data(text.utf8)) }

    func testTypesAndEscapes() throws {
        let v = try parse(#"{"a": 1, "b": 1.5, "c": -2e3, "d": true, "e": null, "f": "x\"\\\/\n\u00e9\ud83d\ude00", "g": [1, "2"], "h": {}}"#)
        guard case .object(let o) = v else { return XCTFail("\(v)") }
        XCTAssertEqual(o["a"], .int(1))
        XCTAssertEqual(o["b"], .double(1.5))
        XCTAssertEqual(o["c"], .double(-2000))
        XCTAssertEqual(o["d"], .bool(true))
        XCTAssertEqual(o["e"], .null)
        XCTAssertEqual(o["f"], .string("x\"\\/\né😀"))
        XCTAssertEqual(o["g"], .array([.int(1), .string("2")]))
        XCTAssertEqual(o["h"], .object([:]))
        XCTAssertEqual(try parse("  \"café ☕\" "), .string("café ☕"))
        XCTAssertEqual(try parse("9007199254740993"), .int(9_007_199_254_740_993))
        XCTAssertEqual(o["a"]?.intValue, 1)
        XCTAssertEqual(JSONValue.double(3.0).intValue, 3)
        XCTAssertNil(JSONValue.double(3.5).intValue)
    }

    func testRejectsInvalidJSON() {
        for bad in ["", "{", "{\"a\" 1}", "{\"a\": 1,}", "[1 2]", "01", "1.", "-", "tru", "\"abc", "\"\\x\"",
                    "\"\\ud800\"", "{\"a\": 1} x", "{a: 1}", "\"tab\there\"", "1e400", "[" + String(repeating: "[", count: 70)] {
            XCTAssertThrowsError(try parse(bad), bad)
        }
        XCTAssertThrowsError(try JSONValue.parse(Data([0x22, 0xFF, 0x22])))  // invalid UTF-8
    }
}
