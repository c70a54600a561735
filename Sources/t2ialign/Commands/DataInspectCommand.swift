import ArgumentParser
import Datasets
import Foundation
import ImageIO

/// `t2ialign data inspect DIR`: what a dataset holds, split by split, and a contact sheet of sample pairs.
struct DataInspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Summarise a Pick-a-Pic-format dataset and draw a contact sheet of sample pairs.",
        discussion: """
        For every split: rows, usable pairs, ties, rows skipped per reason (has_label=false, \
        are_different=false, ties, and malformed rows per kind with the first example), users and pairs \
        per user (min/median/max), and generators (images and how often each was preferred). Malformed \
        rows are counted, not fatal, unless --strict.
        """
    )

    @Argument(help: "The dataset directory (holding dataset.json).")
    var directory: String

    @Option(name: .customLong("split"), help: "Split(s) to inspect (repeatable; default: every SPLIT.jsonl).")
    var splits: [String] = []

    @Flag(help: "Count ties as pairs (as a trainer keeping ties would).")
    var keepTies = false

    @Flag(help: "Stop at the first malformed row instead of counting it.")
    var strict = false

    @Flag(help: "Decode every image (slower) instead of only checking the files exist.")
    var decodeImages = false

    @Option(help: "Pairs on the contact sheet (0: no sheet).")
    var samples: Int = 8

    @Option(help: "Split drawn on the contact sheet (default: train if present, else the first).")
    var sheetSplit: String?

    @Option(help: "Contact sheet path (default: DIR/inspect-SPLIT.png).")
    var sheet: String?

    @Flag(help: "Print the reports as JSON instead of text.")
    var json = false

    func validate() throws {
        guard samples >= 0 else { throw ValidationError("--samples must be 0 or more") }
    }

    func run() throws {
        let manifest = try DatasetManifest.read(directory: directory)
        let names = splits.isEmpty ? DatasetManifest.splitFiles(directory: directory) : splits
        guard !names.isEmpty else {
            throw ValidationError("\(directory) has no SPLIT.jsonl files; import or synthesise data into it first")
        }
        let options = PairDatasetOptions(keepTies: keepTies, lenient: !strict,
                                         imageCheck: decodeImages ? .decode : .exists)
        let datasets = try names.map { try PairDataset(directory: directory, split: $0, options: options) }

        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(datasets.map(\.report)), as: UTF8.self))
        } else {
            printSummary(manifest, datasets)
        }

        guard samples > 0 else { return }
        let chosen = sheetSplit ?? (names.contains("train") ? "train" : names[0])
        guard let dataset = datasets.first(where: { $0.split == chosen }) else {
            throw ValidationError("--sheet-split \(chosen) is not among the inspected splits: \(names.joined(separator: ", "))")
        }
        guard dataset.count > 0 else {
            FileHandle.standardError.write(Data("no contact sheet: split \(chosen) has no usable pairs\n".utf8))
            return
        }
        let image = try PairContactSheet.make(dataset: dataset, count: samples)
        let path = sheet ?? (directory as NSString).appendingPathComponent("inspect-\(chosen).png")
        try ImageFile.writePNG(image, to: path)
        print("contact sheet (\(min(samples, dataset.count)) pairs of \(chosen)): \(path)")
    }

    private func printSummary(_ manifest: DatasetManifest, _ datasets: [PairDataset]) {
        print("\(directory): \(manifest.format) v\(manifest.version), resolution \(manifest.resolution)")
        for key in manifest.metadata.keys.sorted() { print("  \(key): \(manifest.metadata[key] ?? "")") }
        var allUsers = Set<Int>()
        for ds in datasets {
            let r = ds.report
            allUsers.formUnion(r.pairsPerUser.keys)
            print("")
            print("split \(r.split): \(r.rows) rows → \(r.pairs) pairs, \(r.ties) ties (\(r.tiesKept ? "kept" : "dropped"))")
            for reason in FilterReason.allCases { if let n = r.filtered[reason] { print("  skipped \(reason.rawValue): \(n)") } }
            for defect in RowDefect.allCases {
                guard let n = r.malformed[defect] else { continue }
                print("  skipped malformed (\(defect.rawValue)): \(n)")
                if let first = r.firstErrors[defect] { print("    first: \(first)") }
            }
            if let s = r.pairsPerUserSummary {
                print("  users: \(r.users); pairs per user min/median/max: \(s.min)/\(s.median)/\(s.max)")
            }
            let models = r.generatorImages.keys.sorted()
            if !models.isEmpty {
                print("  generators (images, preferred):")
                let width = models.map(\.count).max() ?? 0
                for m in models {
                    let images = r.generatorImages[m] ?? 0, wins = r.generatorWins[m] ?? 0
                    let pad = String(repeating: " ", count: width - m.count)
                    print("    \(m)\(pad)  \(images) images, preferred \(wins) times")
                }
            }
        }
        print("")
        print("splits: \(datasets.map { "\($0.split) (\($0.count))" }.joined(separator: ", ")); users across splits: \(allUsers.count)")
    }
}
