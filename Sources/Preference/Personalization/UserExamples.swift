import Autograd
import Datasets
import Foundation
import ImageIO

/// The labelled pairs that stand for one user, as tensors the user model reads (winner first), with
/// their prompts (the scorer's part of the user model is prompt-aware) and targets (1, or ½ for a tie).
public struct UserExamples {
    /// [N, 3, S, S] preferred and other images, in [−1, 1].
    public let winners: Tensor
    public let losers: Tensor
    public let prompts: [String]
    public let targets: [Double]
    /// Where the pairs came from (for messages and model cards).
    public let source: String

    public var count: Int { winners.shape[0] }

    public init(winners: Tensor, losers: Tensor, prompts: [String], targets: [Double]? = nil, source: String) throws {
        guard winners.rank == 4, winners.shape == losers.shape, winners.shape[0] >= 1, prompts.count == winners.shape[0] else {
            throw PersonalizationError.input("user examples: winners \(winners.shape) and losers \(losers.shape) must both be [N, 3, S, S] with N ≥ 1, one prompt per pair (got \(prompts.count))")
        }
        self.winners = winners
        self.losers = losers
        self.prompts = prompts
        self.targets = targets ?? Array(repeating: 1, count: prompts.count)
        self.source = source
    }

    /// The user model's view of every pair.
    public func features(encoder: UserEncoder) throws -> [UserPairFeature] {
        try encoder.pairFeatures(first: winners, second: losers, prompts: prompts, targets: targets)
    }

    /// The first `shots` judged, non-tie rows of a JSONL file in the Pick-a-Pic row format (image paths
    /// relative to the file's folder, as in a dataset split), images resized to `resolution`.
    public static func read(file: String, shots: Int, resolution: Int) throws -> UserExamples {
        guard shots >= 1 else { throw PersonalizationError.invalidSetting(flag: "--user-shots", reason: "must be at least 1") }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw PersonalizationError.examples(file: file, reason: FileManager.default.fileExists(atPath: file)
                ? "cannot be read" : "does not exist; pass a JSONL file of labelled pairs (e.g. a dataset split such as my-user/train.jsonl)")
        }
        let folder = (file as NSString).deletingLastPathComponent
        let transform = try ImageTransform(resolution: resolution)
        var winners: [Float] = [], losers: [Float] = [], prompts: [String] = []
        var used = 0, skipped = 0
        var lineNumber = 0
        for line in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            if used == shots { break }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            let row: PairRow
            do {
                row = try RowValidation.parse(Data(line), file: file, line: lineNumber)
                try RowValidation.checkLabels(row, file: file, line: lineNumber)
            } catch let e as RowError {
                throw PersonalizationError.examples(file: file, reason: "line \(lineNumber): \(e.description)")
            }
            guard row.hasLabel, row.areDifferent, !row.isTie else { skipped += 1; continue }
            let pair = PreferencePair(row: row, line: lineNumber)
            for (path, column, into) in [(pair.winnerImage, pair.imageColumns.winner, 0), (pair.loserImage, pair.imageColumns.loser, 1)] {
                let full = path.hasPrefix("/") ? path : (folder as NSString).appendingPathComponent(path)
                let image: RGBImage
                do { image = try ImageFile.read(full) } catch {
                    throw PersonalizationError.examples(file: file, reason: "line \(lineNumber), \(column): cannot read image \(full) (\(error))")
                }
                let pixels = transform.modelInput(image)
                if into == 0 { winners += pixels } else { losers += pixels }
            }
            prompts.append(pair.prompt)
            used += 1
        }
        guard used >= shots else {
            throw PersonalizationError.examples(
                file: file, reason: "holds \(used) usable labelled pair(s) (\(skipped) tie/unlabelled skipped) but the model needs K = \(shots); add pairs or pass --user-shots \(max(used, 1))")
        }
        let shape = [shots, 3, resolution, resolution]
        return try UserExamples(winners: Tensor(shape: shape, data: winners), losers: Tensor(shape: shape, data: losers),
                                prompts: prompts, source: file)
    }

    /// Every labelled pair of `user` (ties as ½) in the first of `splits` of dataset `directory` that has any
    /// pair of that user — the pool a new user's K shots are chosen from (`UserPrior.informativeOrder`).
    /// An unknown user, or one with fewer than `shots` non-tie pairs, is an error naming the splits.
    public static func fromDataset(directory: String, splits: [String], user: Int, shots: Int, resolution: Int) throws -> UserExamples {
        guard shots >= 1 else { throw PersonalizationError.invalidSetting(flag: "--user-shots", reason: "must be at least 1") }
        let available = Set(DatasetManifest.splitFiles(directory: directory))
        let searched = splits.filter { available.contains($0) }
        guard !searched.isEmpty else {
            throw PersonalizationError.examples(file: directory, reason: "has none of the splits \(splits.joined(separator: ", ")) (it has \(available.sorted().joined(separator: ", ")))")
        }
        for split in searched {
            let dataset = try PairDataset(directory: directory, split: split,
                                          options: PairDatasetOptions(keepTies: true, resolution: resolution, users: [user]))
            guard dataset.count > 0 else { continue }
            let pairs = try (0..<dataset.count).map { try dataset.pair(at: $0) }
            let nonTie = pairs.filter { !$0.isTie }.count
            guard nonTie >= shots else {
                throw PersonalizationError.tooFewPairs(user: user, have: nonTie, need: shots, source: dataset.file,
                                                       hint: "pass --user-shots \(max(nonTie, 1)), or give the user's pairs with --user-examples FILE")
            }
            let images = try PairImages.load(dataset, pairs: Array(0..<dataset.count), resolution: resolution)
            return try UserExamples(winners: images.winners, losers: images.losers, prompts: pairs.map(\.prompt),
                                    targets: pairs.map { $0.isTie ? 0.5 : 1 }, source: "user \(user) in \(dataset.file)")
        }
        var ids = Set<Int>()
        for split in searched {
            let index = try UserPairIndex(dataset: PairDataset(directory: directory, split: split,
                                                               options: PairDatasetOptions(imageCheck: .none)))
            ids.formUnion(index.users)
        }
        throw PersonalizationError.unknownUser(id: user, source: searched.map { "\(directory)/\($0).jsonl" }.joined(separator: ", "),
                                               available: PersonalizationError.describe(ids: Array(ids)))
    }
}
