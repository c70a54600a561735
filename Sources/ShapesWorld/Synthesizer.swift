import Datasets
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import ImageIO
import Kernels

/// Settings of `t2ialign data synth`. The defaults write 27,770 pairs (55,540 PNGs, 240 MB) with 17 s of CPU
/// time: 66 s wall measured on the 2 shared cores at load 16, about 10 s on 2 idle cores.
public struct SynthesisConfig: Sendable, Equatable {
    public var seed: UInt64 = 1
    /// Image size S (≥ 16).
    public var resolution: Int = 32
    /// Pairs labelled by the population user (user_id 0).
    public var populationPairs: Int = 20_000
    public var users = UserPopulationConfig()
    /// Write validation_unique / test_unique: one population pair per prompt of the split.
    public var uniqueSplits = true

    public init() {}

    /// Throws `invalidConfiguration` naming the command-line flag at fault.
    public func validate() throws {
        if resolution < Renderer.minimumSize {
            throw ShapesWorldError.invalidConfiguration(
                field: "--resolution", reason: "must be at least \(Renderer.minimumSize), got \(resolution)")
        }
        if populationPairs < 0 {
            throw ShapesWorldError.invalidConfiguration(field: "--population-pairs", reason: "must be ≥ 0, got \(populationPairs)")
        }
        try users.validate()
    }
}

/// What a synthesis wrote.
public struct SynthesisSummary: Sendable {
    public var directory: String
    /// Rows per split file.
    public var rows: [String: Int]
    public var ties: Int
    public var images: Int
    /// All users, the population user (id 0) first.
    public var users: [SimulatedUser]
}

/// Writes a Shapes-world preference dataset in the Pick-a-Pic layout (specs/pickapic-format.md).
///
/// Rows, in ranking_id order: the population user's pairs, then each personal user's, then the unique
/// splits. A pair's prompt is drawn with the grammar's probabilities; the pair goes to the prompt's split
/// (`train`, `validation`, `test`), so test prompts never reach training data. Held-out users' pairs go to
/// their own split files `heldout_train`, `heldout_validation`, `heldout_test` (by prompt split) and never
/// to train/validation/test: fit a new user on `heldout_train`, evaluate on `heldout_test`.
/// `validation_unique` / `test_unique` hold one population pair for every prompt of the split.
/// Each image comes from a generator drawn uniformly (the same one allowed); caption_0 / caption_1 are
/// the images' truthful captions (§7); labels are Bradley–Terry draws on the oracle rewards measured from
/// the rendered pixels for the row's user (§5). `users.json` records every user's weights.
///
/// Deterministic for a seed: everything about pair i comes from its own Philox stream
/// (seed, pairs stream, i), so the thread count never changes a byte.
public enum ShapesSynthesizer {
    /// Split file for a held-out user's pair on a prompt of `split`.
    public static func heldOutSplit(_ split: PromptSplit) -> String { "heldout_" + split.rawValue }

    /// Pairs rendered per parallel batch (bounded memory, steady progress).
    static let batchSize = 512

    /// Named streams of the seed.
    enum Stream: UInt64 { case users = 1, pairs = 2 }
    /// Streams within a pair.
    enum PairStream: UInt64 { case prompt = 1, image0 = 2, image1 = 3, label = 4, uid = 5 }

    struct Plan {
        var rankingID: Int
        var user: SimulatedUser
        var prompt: ShapesPrompt
        var split: String
        var createdAt: String
        /// Rows of the split sharing this prompt (num_example_per_prompt).
        var examplesPerPrompt = 1
    }

    struct RenderedPair {
        var row: PairRow
        var split: String
    }

    /// Writes the dataset to `directory` (created if needed; an existing dataset there is replaced).
    /// `progress(done, total)` is called after each batch of pairs.
    @discardableResult
    public static func synthesize(_ config: SynthesisConfig, to directory: String,
                                  progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws -> SynthesisSummary {
        try config.validate()
        try checkDestination(directory)
        let root = RNG(seed: config.seed)
        let users = [SimulatedUser.population(pairCount: config.populationPairs)]
            + UserPopulation.make(config.users, rng: root.derived(stream: Stream.users.rawValue))
        let plans = makePlans(config, users: users, root: root)

        let writer = try DatasetWriter(directory: directory, resolution: config.resolution, metadata: [
            "source": "shapes-world (specs/shapes-world.md)",
            "seed": String(config.seed),
            "population_pairs": String(config.populationPairs),
            "users_file": UsersFile.fileName,
            "heldout_splits": PromptSplit.allCases.map(heldOutSplit).joined(separator: ","),
            "prompt_split": "FNV-1a 64 of the prompt's UTF-8 bytes mod 10: 0-7 train, 8 validation, 9 test",
            "labels": "Bradley-Terry sigma((r0 - r1) / \(Labeler.temperature)) on oracle rewards; "
                + "tie when |r0 - r1| < \(Labeler.tieThreshold)",
        ])
        try UsersFile.write(users, directory: directory)

        let pairsRoot = root.derived(stream: Stream.pairs.rawValue)
        var ties = 0
        var start = 0
        while start < plans.count {
            let batch = Array(plans[start..<min(start + batchSize, plans.count)])
            var results = [Result<RenderedPair, Error>?](repeating: nil, count: batch.count)
            results.withUnsafeMutableBufferPointer { buffer in
                let out = UncheckedSendable(buffer)
                Threading.parallelFor(batch.count) { i in
                    let plan = batch[i]
                    out.value[i] = Result {
                        try renderPair(plan, size: config.resolution, rng: pairsRoot.derived(stream: UInt64(plan.rankingID)),
                                       directory: directory)
                    }
                }
            }
            for result in results {
                guard let pair = try result?.get() else { continue }
                if pair.row.isTie { ties += 1 }
                try writer.append(pair.row, split: pair.split)
            }
            start += batch.count
            progress?(start, plans.count)
        }
        try writer.finish()
        return SynthesisSummary(directory: directory, rows: writer.rowCounts, ties: ties, images: 2 * plans.count,
                                users: users)
    }

    /// Refuses to write into a directory that holds something other than a dataset.
    static func checkDestination(_ directory: String) throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDirectory) else { return }
        guard isDirectory.boolValue else {
            throw ShapesWorldError.invalidConfiguration(
                field: "--out", reason: "\(directory) is a file; give a new or existing dataset directory")
        }
        let entries = (try? fm.contentsOfDirectory(atPath: directory)) ?? []
        if !entries.isEmpty && !entries.contains(DatasetManifest.fileName) {
            throw ShapesWorldError.invalidConfiguration(
                field: "--out", reason: "\(directory) is not empty and holds no dataset.json; "
                    + "choose a new directory (an existing dataset there would be replaced)")
        }
    }

    /// Every row's user, prompt, split and time, in ranking_id order.
    static func makePlans(_ config: SynthesisConfig, users: [SimulatedUser], root: RNG) -> [Plan] {
        let pairsRoot = root.derived(stream: Stream.pairs.rawValue)
        var plans: [Plan] = []
        let clock = ISO8601DateFormatter()
        clock.timeZone = TimeZone(identifier: "UTC")
        // Judgements one minute apart from a fixed date, so created_at is deterministic too.
        let epoch = Date(timeIntervalSince1970: 1_704_067_200)  // 2024-01-01T00:00:00Z
        func add(_ user: SimulatedUser, _ prompt: ShapesPrompt, split: String) {
            let id = plans.count
            plans.append(Plan(rankingID: id, user: user, prompt: prompt, split: split,
                              createdAt: clock.string(from: epoch.addingTimeInterval(60 * Double(id)))))
        }
        for user in users {
            for _ in 0..<user.pairCount {
                var rng = pairsRoot.derived(stream: UInt64(plans.count)).derived(stream: PairStream.prompt.rawValue)
                let prompt = ShapesPrompt.sample(&rng)
                add(user, prompt, split: user.heldOut ? heldOutSplit(prompt.split) : prompt.split.rawValue)
            }
        }
        if config.uniqueSplits {
            for split in [PromptSplit.validation, .test] {
                for prompt in ShapesPrompt.prompts(in: split) { add(users[0], prompt, split: split.rawValue + "_unique") }
            }
        }
        var counts: [String: Int] = [:]
        for p in plans { counts[p.split + "\n" + p.prompt.text, default: 0] += 1 }
        for i in plans.indices { plans[i].examplesPerPrompt = counts[plans[i].split + "\n" + plans[i].prompt.text] ?? 1 }
        return plans
    }

    /// Renders, measures and labels one pair, and writes its two PNGs.
    static func renderPair(_ plan: Plan, size: Int, rng: RNG, directory: String) throws -> RenderedPair {
        var rendered: [(scene: Scene, image: RGBImage, generator: String, reward: Double)] = []
        for stream in [PairStream.image0, .image1] {
            var r = rng.derived(stream: stream.rawValue)
            let generator = r.pick(Generator.all)
            let scene = generator.scene(for: plan.prompt, rng: &r)
            let image = try Renderer.render(scene, size: size).image
            let m = try Oracle.measure(image)
            rendered.append((scene, image, generator.name,
                             Reward.reward(m, prompt: plan.prompt, weights: plan.user.weights)))
        }
        var labelRNG = rng.derived(stream: PairStream.label.rawValue)
        let label = Labeler.label(rendered[0].reward, rendered[1].reward, rng: &labelRNG)
        let uids = imageUIDs(rng.derived(stream: PairStream.uid.rawValue))
        let best = label.isTie ? "" : label.label0 == 1 ? uids.0 : uids.1
        let row = PairRow(
            caption: plan.prompt.text,
            jpg0: DatasetWriter.imagePath(uid: uids.0), jpg1: DatasetWriter.imagePath(uid: uids.1),
            label0: label.label0, label1: label.label1, userID: plan.user.id, rankingID: plan.rankingID,
            image0UID: uids.0, image1UID: uids.1, bestImageUID: best,
            model0: rendered[0].generator, model1: rendered[1].generator, hasLabel: true,
            areDifferent: rendered[0].image != rendered[1].image, createdAt: plan.createdAt,
            numExamplePerPrompt: plan.examplesPerPrompt,
            caption0: Captions.truthful(rendered[0].scene, size: size).text,
            caption1: Captions.truthful(rendered[1].scene, size: size).text)
        try writeImage(rendered[0].image, to: (directory as NSString).appendingPathComponent(row.jpg0))
        try writeImage(rendered[1].image, to: (directory as NSString).appendingPathComponent(row.jpg1))
        return RenderedPair(row: row, split: plan.split)
    }

    /// Writes a PNG from a worker thread. No per-file temp+rename+fsync (fsync costs ~10 ms here):
    /// rows only become visible when `DatasetWriter.finish()` moves the split files into place after every
    /// image is written, and an interrupted run leaves no dataset.json, so a torn image is never referenced.
    /// (Plain POSIX writes: Foundation's `Data.write` fsyncs every file on Linux.)
    static func writeImage(_ image: RGBImage, to path: String) throws {
        let bytes: [UInt8]
        do { bytes = try ImageFile.encodePNG(image) } catch {
            throw ShapesWorldError.io(path: path, reason: "cannot encode the image (\(error))")
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ShapesWorldError.io(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw ShapesWorldError.io(path: path, reason: String(cString: strerror(errno))) }
            written += n
        }
    }

    /// Two version-4-style UUID strings from the pair's uid stream (Pick-a-Pic's image uids are UUIDs).
    static func imageUIDs(_ rng: RNG) -> (String, String) {
        func uuid(_ a: (UInt32, UInt32, UInt32, UInt32)) -> String {
            let w1 = (a.1 & 0xFFFF_0FFF) | 0x0000_4000         // version 4
            let w2 = (a.2 & 0x3FFF_FFFF) | 0x8000_0000         // RFC 4122 variant
            return String(format: "%08x-%04x-%04x-%04x-%04x%08x", a.0, w1 >> 16, w1 & 0xFFFF, w2 >> 16,
                          w2 & 0xFFFF, a.3)
        }
        return (uuid(rng.block(0)), uuid(rng.block(1)))
    }
}
