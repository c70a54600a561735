import Foundation
import ImageIO
import Kernels

/// Converts real Pick-a-Pic Parquet shards into the project layout (dataset.json, SPLIT.jsonl, images/).
///
/// Rows are streamed row group by row group, page by page; the JPEGs of a block of rows are decoded (a
/// check that they are images), optionally resized, and written on all cores, then the rows are appended
/// in shard order. Every row is kept as it is (has_label=false rows included: readers filter them), but a
/// malformed one — a null required value, an undecodable image, bad labels on a judged row — is an error
/// naming the shard, the 1-based row and the column, or with `lenient` is skipped and counted.
public enum PickAPicImporter {
    public struct Options: Sendable {
        /// Resize the shorter side to N and centre-crop to N×N, stored as PNG. nil keeps the original
        /// image bytes (decoded once as a check).
        public var resize: Int?
        /// Stop after this many rows written.
        public var limit: Int?
        public var split: String
        public var lenient: Bool
        /// dataset.json's resolution; defaults to `resize`, else 32 (the project's model size).
        public var resolution: Int?
        /// Rows decoded per parallel block.
        public var blockSize: Int

        public init(resize: Int? = nil, limit: Int? = nil, split: String = "train", lenient: Bool = false,
                    resolution: Int? = nil, blockSize: Int = 64) {
            self.resize = resize
            self.limit = limit
            self.split = split
            self.lenient = lenient
            self.resolution = resolution
            self.blockSize = blockSize
        }
    }

    public struct Report: Sendable, CustomStringConvertible {
        public var shards: [String] = []
        public var rowsRead = 0
        public var rowsWritten = 0
        public var skipped: [RowDefect: Int] = [:]
        public var firstErrors: [RowDefect: String] = [:]
        public var output = ""
        public var split = ""

        public var description: String {
            var lines = ["imported \(rowsWritten) of \(rowsRead) rows from \(shards.count) shard(s) into \(output) (split \(split))"]
            for d in RowDefect.allCases {
                if let n = skipped[d] { lines.append("  skipped \(d.rawValue): \(n) (first: \(firstErrors[d] ?? ""))") }
            }
            return lines.joined(separator: "\n")
        }
    }

    /// Imports `shards` into `output` (adding or replacing `options.split`, keeping other splits).
    /// `progress` is called after each block with the rows read and written so far.
    @discardableResult
    public static func run(shards: [String], output: String, options: Options = Options(),
                           progress: ((Int, Int) -> Void)? = nil) throws -> Report {
        guard !shards.isEmpty else { throw DatasetError.invalidArgument("no Parquet shards given: pass one or more SHARD.parquet files") }
        if let r = options.resize, r <= 0 { throw DatasetError.invalidArgument("--resize must be positive, got \(r)") }
        if let l = options.limit, l <= 0 { throw DatasetError.invalidArgument("--limit must be positive, got \(l)") }
        guard options.blockSize > 0 else { throw DatasetError.invalidArgument("block size must be positive") }
        try DatasetWriter.validateSplitName(options.split)
        // Open every shard first so a bad path or schema fails before anything is written.
        let files = try shards.map { try ParquetFile(path: $0) }
        let layouts = try files.map { try PickAPicColumns(file: $0) }

        let resolution = options.resolution ?? options.resize ?? 32
        let transform = try options.resize.map { try ImageTransform(resolution: $0) }
        let writer = try DatasetWriter(
            directory: output, resolution: resolution,
            metadata: ["source": "Pick-a-Pic Parquet import", "shards_\(options.split)": shards.map { ($0 as NSString).lastPathComponent }.joined(separator: ",")],
            existing: .keepOtherSplits)
        var report = Report()
        report.shards = shards
        report.output = output
        report.split = options.split

        shardLoop: for (file, layout) in zip(files, layouts) {
            var rowNumber = 0
            for group in 0..<file.rowGroupCount {
                let readers = try layout.columns.map { try file.columnReader(rowGroup: group, column: $0.index) }
                var left = file.rowCount(ofRowGroup: group)
                while left > 0 {
                    if let limit = options.limit, report.rowsWritten >= limit { break shardLoop }
                    var wanted = min(left, options.blockSize)
                    if let limit = options.limit { wanted = min(wanted, limit - report.rowsWritten) }
                    left -= wanted
                    // Read the block's values (sequential: page cursors).
                    var block: [Result<(PairRow, [UInt8], [UInt8]), RowError>] = []
                    for _ in 0..<wanted {
                        rowNumber += 1
                        var values = PickAPicColumns.Values()
                        var failure: RowError?
                        for (column, reader) in zip(layout.columns, readers) {
                            // Every column advances even after a failure, to stay row-aligned.
                            let value = try reader.next()
                            if failure == nil {
                                do { try PickAPicColumns.store(value, column: column, into: &values, file: file.path, row: rowNumber) } catch let e as RowError {
                                    failure = e
                                }
                            }
                        }
                        if let failure {
                            block.append(.failure(failure))
                            continue
                        }
                        let (row, jpg0, jpg1) = PickAPicColumns.row(from: values)
                        if row.hasLabel && row.areDifferent {
                            do { try RowValidation.checkLabels(row, file: file.path, line: rowNumber) } catch let e as RowError {
                                block.append(.failure(e))
                                continue
                            }
                        }
                        block.append(.success((row, jpg0, jpg1)))
                    }
                    report.rowsRead += wanted
                    let firstRow = rowNumber - wanted + 1
                    let written = try writeImages(block, writer: writer, transform: transform, file: file.path, firstRow: firstRow)
                    for result in written {
                        switch result {
                        case .success(let row):
                            try writer.append(row, split: options.split)
                            report.rowsWritten += 1
                        case .failure(let e):
                            guard options.lenient else { throw DatasetError.malformedRow(e) }
                            report.skipped[e.defect, default: 0] += 1
                            if report.firstErrors[e.defect] == nil { report.firstErrors[e.defect] = e.description }
                        }
                    }
                    progress?(report.rowsRead, report.rowsWritten)
                }
            }
        }
        try writer.finish()
        return report
    }

    /// Decodes (and resizes) the images of a block on all cores and writes them; returns the rows with
    /// their image paths filled in, in order.
    private static func writeImages(_ block: [Result<(PairRow, [UInt8], [UInt8]), RowError>], writer: DatasetWriter,
                                    transform: ImageTransform?, file: String, firstRow: Int) throws -> [Result<PairRow, RowError>] {
        var results = [Result<PairRow, RowError>?](repeating: nil, count: block.count)
        var ioErrors = [Error?](repeating: nil, count: block.count)
        results.withUnsafeMutableBufferPointer { r in
            ioErrors.withUnsafeMutableBufferPointer { e in
                let (rb, eb) = (UncheckedSendable(r), UncheckedSendable(e))
                Threading.parallelFor(block.count) { i in
                    switch block[i] {
                    case .failure(let error):
                        rb.value[i] = .failure(error)
                    case .success(let (original, jpg0, jpg1)):
                        var row = original
                        do {
                            row.jpg0 = try store(jpg0, uid: row.image0UID, column: "jpg_0", row: firstRow + i, writer: writer, transform: transform, file: file)
                            row.jpg1 = try store(jpg1, uid: row.image1UID, column: "jpg_1", row: firstRow + i, writer: writer, transform: transform, file: file)
                            rb.value[i] = .success(row)
                        } catch let error as RowError {
                            rb.value[i] = .failure(error)
                        } catch {
                            eb.value[i] = error
                        }
                    }
                }
            }
        }
        // File-system errors stop the import whatever the leniency: the output would be incomplete.
        if let error = ioErrors.compactMap({ $0 }).first { throw error }
        return results.map { $0 ?? .failure(RowError(file: file, line: firstRow, column: nil, defect: .invalidJSON, detail: "internal: row not processed")) }
    }

    /// Decodes one image (the check), then writes it resized as PNG, or its original bytes.
    private static func store(_ bytes: [UInt8], uid: String, column: String, row: Int, writer: DatasetWriter,
                              transform: ImageTransform?, file: String) throws -> String {
        let uidColumn = column == "jpg_0" ? "image_0_uid" : "image_1_uid"
        guard !uid.isEmpty else {
            throw RowError(file: file, line: row, column: uidColumn, defect: .wrongType,
                           detail: "\(uidColumn) is empty; images are stored under their uid")
        }
        let image: RGBImage
        do { image = try ImageFile.decode(bytes, source: "\(file) row \(row), \(column)") } catch {
            let reason = (error as? ImageIOError)?.reason ?? "\(error)"
            throw RowError(file: file, line: row, column: column, defect: .undecodableImage, detail: reason)
        }
        if let transform {
            return try writer.writeImage(transform.apply(image), uid: uid, column: uidColumn)
        }
        let isPNG = bytes.starts(with: [0x89, 0x50, 0x4E, 0x47])
        return try writer.writeImage(bytes: bytes, uid: uid, extension: isPNG ? "png" : "jpg", column: uidColumn)
    }
}
