import Files
import Foundation
import XCTest

final class AtomicFileTests: XCTestCase {
    func testWritesCreatesParentsAndReplaces() throws {
        let dir = try makeTemporaryDirectory(self)
        let path = dir + "/a/b/c/report.json"
        try AtomicFile.write("first", to: path)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "first")
        try AtomicFile.write(Data([0, 1, 2, 255]), to: path)
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), [0, 1, 2, 255])
        try AtomicFile.write([UInt8](), to: path)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)).count, 0)
        // No temp files are left beside the destination.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/a/b/c"), ["report.json"])
    }

    func testLargeWriteRoundTrips() throws {
        let dir = try makeTemporaryDirectory(self)
        let bytes = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try AtomicFile.write(bytes, to: dir + "/big.bin")
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/big.bin"))), bytes)
    }

    func testErrorsNameThePath() throws {
        let dir = try makeTemporaryDirectory(self)
        try AtomicFile.write("x", to: dir + "/file")
        XCTAssertThrowsError(try AtomicFile.write("y", to: dir + "/file/inside.txt")) { error in
            let e = error as? AtomicFileError
            XCTAssertEqual(e?.path, dir + "/file")
            XCTAssertTrue("\(error)".contains(dir + "/file"), "\(error)")
        }
        // A directory cannot be replaced by a file: the rename fails and the temp file is removed.
        try FileManager.default.createDirectory(atPath: dir + "/sub/keep", withIntermediateDirectories: true)
        XCTAssertThrowsError(try AtomicFile.write("z", to: dir + "/sub")) { error in
            XCTAssertTrue("\(error)".contains(dir + "/sub"), "\(error)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["file", "sub"])
        XCTAssertThrowsError(try AtomicFile.write("z", to: ""))
    }
}

final class JSONLinesTests: XCTestCase {
    struct Metric: Codable, Equatable {
        let step: Int
        let loss: Double
        let note: String?
    }

    func testAppendAndReadBackWithLineNumbers() throws {
        let path = try makeTemporaryDirectory(self) + "/logs/metrics.jsonl"
        let records = [Metric(step: 1, loss: 0.5, note: nil), Metric(step: 2, loss: 0.25, note: "a/b \"c\"\nd"),
                       Metric(step: 3, loss: 0.125, note: "ü")]
        for r in records { try JSONLines.append(r, to: path) }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertEqual(text.split(separator: "\n", omittingEmptySubsequences: false).count, 4, "one line per record + final newline")
        XCTAssertTrue(text.hasPrefix(#"{"loss":0.5,"step":1}"#), text)
        let back = try JSONLines.read(Metric.self, from: path)
        XCTAssertEqual(back.map(\.value), records)
        XCTAssertEqual(back.map(\.line), [1, 2, 3])
    }

    func testBlankLinesAreSkippedAndBadLinesNamed() throws {
        let path = try makeTemporaryDirectory(self) + "/m.jsonl"
        try AtomicFile.write("{\"step\":1,\"loss\":1}\n\n  \n{\"step\":2}\n", to: path)
        XCTAssertEqual(try JSONLines.readLines(from: path).map(\.line), [1, 4])
        XCTAssertThrowsError(try JSONLines.read(Metric.self, from: path)) { error in
            guard case .invalidLine(let p, 4, _) = error as? JSONLinesError else { return XCTFail("\(error)") }
            XCTAssertEqual(p, path)
            XCTAssertTrue("\(error)".contains(path + ":4"), "\(error)")
        }
    }

    func testTruncatedLastLineFromInterruptedAppend() throws {
        let path = try makeTemporaryDirectory(self) + "/m.jsonl"
        try JSONLines.append(Metric(step: 1, loss: 1, note: nil), to: path)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"step":2,"lo"#.utf8))
        try handle.close()
        XCTAssertThrowsError(try JSONLines.read(Metric.self, from: path))
        XCTAssertEqual(try JSONLines.read(Metric.self, from: path, allowTruncatedLastLine: true).map(\.value.step), [1])
    }

    func testMissingFileIsATypedError() throws {
        let path = try makeTemporaryDirectory(self) + "/none.jsonl"
        XCTAssertThrowsError(try JSONLines.readLines(from: path)) { error in
            guard case .unreadable(let p, _) = error as? JSONLinesError else { return XCTFail("\(error)") }
            XCTAssertEqual(p, path)
        }
    }
}
