import Foundation
import ImageIO
import Kernels

/// How a split is read.
public struct PairDatasetOptions: Sendable, Equatable {
    /// How much of each image is checked when the split is opened.
    public enum ImageCheck: Sendable, Equatable {
        /// Nothing: a missing or bad image surfaces when a batch decodes it.
        case none
        /// The files exist (cheap; the default).
        case exists
        /// Every image decodes (reads all images once, in parallel).
        case decode
    }

    /// Keep 0.5/0.5 judgements (dropped and counted by default).
    public var keepTies: Bool
    /// Skip malformed rows and count them per kind, instead of failing on the first.
    public var lenient: Bool
    public var imageCheck: ImageCheck
    /// The model resolution images are resized to; nil uses dataset.json's.
    public var resolution: Int?
    /// Only pairs judged by these users (nil: every user); other users' rows are skipped and counted.
    public var users: Set<Int>?

    public init(keepTies: Bool = false, lenient: Bool = false, imageCheck: ImageCheck = .exists, resolution: Int? = nil,
                users: Set<Int>? = nil) {
        self.keepTies = keepTies
        self.lenient = lenient
        self.imageCheck = imageCheck
        self.resolution = resolution
        self.users = users
    }
}

/// One split of a dataset in the project layout, read in streaming fashion.
///
/// Opening scans the split file once: every row is validated (columns, types, labels, image files),
/// filtered (has_label=false, are_different=false, ties unless kept) and counted in `report`. Only the
/// byte offset of each usable row is kept; rows are re-read and images decoded on demand, so a dataset
/// larger than memory trains fine. Pairs are served winner-first (`PreferencePair`).
public final class PairDataset: @unchecked Sendable {
    public let directory: String
    public let split: String
    public let manifest: DatasetManifest
    public let options: PairDatasetOptions
    public let report: DatasetReport
    public let transform: ImageTransform
    /// Path of the split file.
    public let file: String

    // The index, one entry per usable pair (immutable after init: safe to read from many threads).
    private let offsets: [Int]
    private let lengths: [Int32]
    private let lines: [Int32]

    public var count: Int { offsets.count }
    public var resolution: Int { transform.resolution }

    public init(directory: String, split: String = "train", options: PairDatasetOptions = PairDatasetOptions()) throws {
        self.directory = directory
        self.split = split
        self.options = options
        manifest = try DatasetManifest.read(directory: directory)
        transform = try ImageTransform(resolution: options.resolution ?? manifest.resolution)
        file = (directory as NSString).appendingPathComponent(split + ".jsonl")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw DatasetError.missingSplit(directory: directory, split: split,
                                            available: DatasetManifest.splitFiles(directory: directory))
        }

        var report = DatasetReport(split: split, file: file)
        report.tiesKept = options.keepTies
        var candidates: [(offset: Int, length: Int, line: Int, pair: PreferencePair)] = []
        func reject(_ error: RowError) throws {
            guard options.lenient else { throw DatasetError.malformedRow(error) }
            report.countMalformed(error)
        }

        var scanner = try LineScanner(path: file)
        defer { scanner.close() }
        var sawBytes = false
        while let line = try scanner.next() {
            sawBytes = true
            if line.bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            report.rows += 1
            do {
                let row = try RowValidation.parse(line.bytes, file: file, line: line.number, unterminated: !line.terminated)
                if !row.hasLabel { report.countFiltered(.notLabeled); continue }
                if !row.areDifferent { report.countFiltered(.notDifferent); continue }
                if let users = options.users, !users.contains(row.userID) { report.countFiltered(.otherUser); continue }
                try RowValidation.checkLabels(row, file: file, line: line.number)
                if row.isTie {
                    report.ties += 1
                    if !options.keepTies { report.countFiltered(.tie); continue }
                }
                if options.imageCheck != .none {
                    for (column, path) in [("jpg_0", row.jpg0), ("jpg_1", row.jpg1)] {
                        let full = PairDataset.resolve(path, in: directory)
                        guard FileManager.default.fileExists(atPath: full) else {
                            throw RowError(file: file, line: line.number, column: column, defect: .missingImage,
                                           detail: "\(full) does not exist")
                        }
                    }
                }
                candidates.append((line.offset, line.bytes.count, line.number, PreferencePair(row: row, line: line.number)))
            } catch let error as RowError {
                try reject(error)
            }
        }
        if !sawBytes {
            try reject(RowError(file: file, line: 1, column: nil, defect: .emptyFile, detail: "the file is empty (0 bytes)"))
        }

        if options.imageCheck == .decode {
            let failures = PairDataset.decodeFailures(candidates.map(\.pair), directory: directory, file: file)
            for (index, error) in failures.sorted(by: { $0.key < $1.key }) {
                try reject(error)
                candidates[index].length = -1
            }
            candidates.removeAll { $0.length < 0 }
        }

        for c in candidates { report.countPair(c.pair) }
        offsets = candidates.map(\.offset)
        lengths = candidates.map { Int32(clamping: $0.length) }
        lines = candidates.map { Int32(clamping: $0.line) }
        self.report = report
    }

    /// An image path of a row, resolved against the dataset directory (absolute paths are kept).
    static func resolve(_ path: String, in directory: String) -> String {
        path.hasPrefix("/") ? path : (directory as NSString).appendingPathComponent(path)
    }

    /// Decodes both images of every pair on all cores; returns the failures by pair index.
    private static func decodeFailures(_ pairs: [PreferencePair], directory: String, file: String) -> [Int: RowError] {
        var results = [RowError?](repeating: nil, count: pairs.count)
        results.withUnsafeMutableBufferPointer { out in
            let o = UncheckedSendable(out)
            Threading.parallelRanges(pairs.count, minChunk: 8) { range in
                for i in range {
                    let p = pairs[i]
                    let columns = p.imageColumns
                    for (column, path) in [(columns.winner, p.winnerImage), (columns.loser, p.loserImage)] {
                        do { _ = try loadImage(path, directory: directory, file: file, line: p.line, column: column) } catch {
                            o.value[i] = error as? RowError
                                ?? RowError(file: file, line: p.line, column: column, defect: .undecodableImage, detail: "\(error)")
                            break
                        }
                    }
                }
            }
        }
        var failures: [Int: RowError] = [:]
        for (i, r) in results.enumerated() { if let r { failures[i] = r } }
        return failures
    }

    /// Reads an image of a row; a missing or undecodable file is a `RowError` naming the line and column.
    static func loadImage(_ path: String, directory: String, file: String, line: Int, column: String) throws -> RGBImage {
        let full = resolve(path, in: directory)
        do {
            return try ImageFile.read(full)
        } catch let e as ImageIOError {
            let defect: RowDefect = e.kind == .fileNotFound ? .missingImage : .undecodableImage
            throw RowError(file: file, line: line, column: column, defect: defect, detail: "\(full): \(e.reason)")
        }
    }

    // MARK: Access

    private func checkIndex(_ index: Int) throws {
        guard index >= 0, index < count else {
            throw DatasetError.invalidArgument("pair index \(index) is outside 0..<\(count) of \(file)")
        }
    }

    /// The row of usable pair `index`, re-read from the split file.
    public func row(at index: Int) throws -> PairRow {
        try checkIndex(index)
        let data = try LineReader.read(path: file, offset: offsets[index], length: Int(lengths[index]))
        do {
            return try RowValidation.parse(data, file: file, line: Int(lines[index]))
        } catch let e as RowError {
            throw DatasetError.malformedRow(e)
        }
    }

    /// Usable pair `index`, winner first.
    public func pair(at index: Int) throws -> PreferencePair {
        PreferencePair(row: try row(at: index), line: Int(lines[index]))
    }

    /// 1-based line in the split file of usable pair `index`.
    public func line(of index: Int) -> Int { Int(lines[index]) }

    /// The decoded (untransformed) images of a pair, winner first.
    public func images(of pair: PreferencePair) throws -> (winner: RGBImage, loser: RGBImage) {
        let columns = pair.imageColumns
        do {
            let w = try PairDataset.loadImage(pair.winnerImage, directory: directory, file: file, line: pair.line, column: columns.winner)
            let l = try PairDataset.loadImage(pair.loserImage, directory: directory, file: file, line: pair.line, column: columns.loser)
            return (w, l)
        } catch let e as RowError {
            throw DatasetError.malformedRow(e)
        }
    }

    /// Every split with a file in `directory`, each opened with `options`.
    public static func openAll(directory: String, options: PairDatasetOptions = PairDatasetOptions()) throws -> [PairDataset] {
        _ = try DatasetManifest.read(directory: directory)
        return try DatasetManifest.splitFiles(directory: directory).map {
            try PairDataset(directory: directory, split: $0, options: options)
        }
    }
}
