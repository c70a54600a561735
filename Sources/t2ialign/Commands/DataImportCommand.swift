import ArgumentParser
import Datasets
import Foundation

/// `t2ialign data import-pickapic SHARD.parquet... --out DIR`: real Pick-a-Pic shards → the project layout.
struct DataImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-pickapic",
        abstract: "Convert Pick-a-Pic Parquet shards into a dataset directory (dataset.json, SPLIT.jsonl, images/).",
        discussion: """
        Reads the shards as published (e.g. yuvalkirstain/pickapic_v2 data/train-*.parquet): images as \
        JPEG bytes in jpg_0/jpg_1 (binary or {bytes, path} struct), codecs uncompressed/snappy/gzip. \
        Every image is decoded as a check; with --resize N it is stored as an N×N PNG (shorter side \
        resized, centre crop), otherwise the original JPEG is kept. The split is added to DIR, replacing \
        a split of the same name and keeping the others, so splits can be imported one at a time.
        """
    )

    @Argument(help: "Parquet shard(s) to import, in order.")
    var shards: [String]

    @Option(name: .long, help: "Output dataset directory.")
    var out: String

    @Option(help: "Resize images to N×N (shorter side to N, centre crop) and store PNGs.")
    var resize: Int?

    @Option(help: "Import at most N rows.")
    var limit: Int?

    @Option(help: "Split name to write (train, validation, test, validation_unique, test_unique).")
    var split: String = "train"

    @Flag(help: "Skip malformed rows (counted per reason) instead of stopping at the first.")
    var lenient = false

    func validate() throws {
        guard !shards.isEmpty else { throw ValidationError("pass at least one SHARD.parquet") }
        if let r = resize, r <= 0 { throw ValidationError("--resize must be positive") }
        if let l = limit, l <= 0 { throw ValidationError("--limit must be positive") }
    }

    func run() throws {
        let started = Date()
        let options = PickAPicImporter.Options(resize: resize, limit: limit, split: split, lenient: lenient)
        let report = try PickAPicImporter.run(shards: shards, output: out, options: options) { read, written in
            let elapsed = max(Date().timeIntervalSince(started), 1e-9)
            FileHandle.standardError.write(Data(String(
                format: "\rimport: %d rows read, %d written, %.0f rows/s ", read, written, Double(read) / elapsed).utf8))
        }
        FileHandle.standardError.write(Data("\n".utf8))
        print(report.description)
        print(String(format: "done in %.1f s", Date().timeIntervalSince(started)) + "; inspect with: t2ialign data inspect \(out)")
    }
}
