import Autograd
import Diffusion
import Files
import Foundation
import ImageIO
import Kernels
import NN

/// Win rate of model A over model B (specs/evaluation.md): for every prompt and seed both models generate
/// from the same initial noise with the same sampler, steps and guidance; a scorer compares the two images.
///
/// Results are appended to `comparisons.jsonl` prompt by prompt, so an interrupted evaluation resumes
/// without redoing finished prompts. At the end it writes report.json, report.md and grid.png.
public final class Evaluator {
    public struct Settings: Codable, Sendable, Equatable {
        public var seeds = 4
        /// Image k of prompt p starts from RNG(seed: baseSeed + k, stream: p) — as `t2ialign sample` does.
        public var baseSeed: UInt64 = 0
        public var generation = GenerationOptions()
        public var bootstrapRounds = 1000
        /// Prompts shown in grid.png (seed 0 of each).
        public var gridPrompts = 12
        public init() {}
    }

    /// One prompt × seed comparison.
    public struct Record: Codable, Sendable {
        public var promptIndex: Int
        public var prompt: String
        public var seed: Int
        public var scoreA: Double
        public var scoreB: Double
        public var correctA: AttributeCorrectness?
        public var correctB: AttributeCorrectness?
    }

    public let modelA: TextToImageModel, modelB: TextToImageModel
    public let nameA: String, nameB: String
    public let scorer: ImageScorer
    public let prompts: [String]
    public let settings: Settings
    public let directory: URL
    /// Extra conditioning tokens per model (e.g. a user embedding), given the prompt rows of a batch.
    public var extraTokensA: ((Range<Int>) throws -> Tensor?)?
    public var extraTokensB: ((Range<Int>) throws -> Tensor?)?
    /// Where each model's images are kept between evaluations (nil: always generate; ignored with extra tokens).
    public var cacheA: SampleCache?
    public var cacheB: SampleCache?

    public init(modelA: TextToImageModel, nameA: String, modelB: TextToImageModel, nameB: String,
                scorer: ImageScorer, prompts: [String], settings: Settings, directory: String) throws {
        guard !prompts.isEmpty else { throw EvaluationError.noPrompts }
        guard settings.seeds >= 1 else { throw EvaluationError.invalid("--seeds must be at least 1") }
        self.modelA = modelA; self.modelB = modelB
        self.nameA = nameA; self.nameB = nameB
        self.scorer = scorer
        self.prompts = prompts
        self.settings = settings
        self.directory = URL(fileURLWithPath: directory)
    }

    var recordsPath: String { directory.appendingPathComponent("comparisons.jsonl").path }
    var settingsPath: String { directory.appendingPathComponent("settings.json").path }

    /// What identifies an evaluation: resuming is only allowed into the same one. The weight fingerprints
    /// make a retrained model or a replaced scorer folder a new evaluation (optional, so settings.json files
    /// written before them still decode — and then no longer match, which re-runs rather than reuses).
    struct Identity: Codable, Equatable {
        var nameA: String, nameB: String, scorer: String, prompts: [String], settings: Settings
        var weightsA: String?, weightsB: String?, scorerFingerprint: String?
    }

    public func run(progress: ((_ promptsDone: Int, _ total: Int) -> Void)? = nil) throws -> EvaluationReport {
        let identity = Identity(nameA: nameA, nameB: nameB, scorer: scorer.name, prompts: prompts, settings: settings,
                                weightsA: String(format: "%016llx", modelA.weightsFingerprint),
                                weightsB: String(format: "%016llx", modelB.weightsFingerprint),
                                scorerFingerprint: scorer.fingerprint)
        var records: [Record] = []
        if FileManager.default.fileExists(atPath: settingsPath),
           let data = FileManager.default.contents(atPath: settingsPath),
           let previous = try? JSONDecoder().decode(Identity.self, from: data), previous == identity,
           FileManager.default.fileExists(atPath: recordsPath) {
            records = try JSONLines.read(Record.self, from: recordsPath, allowTruncatedLastLine: true).map(\.value)
            // Keep whole prompts only (a prompt's seeds are written together).
            let complete = Dictionary(grouping: records, by: \.promptIndex).filter { $0.value.count == settings.seeds }
            records = records.filter { complete[$0.promptIndex] != nil }
            if !records.isEmpty { print("resuming: \(complete.count) of \(prompts.count) prompts already compared") }
        } else {
            try AtomicFile.write(JSONFormat.pretty.encode(identity), to: settingsPath)
        }
        try rewrite(records)
        let done = Set(records.map(\.promptIndex))
        let todo = (0..<prompts.count).filter { !done.contains($0) }
        let interrupt = InterruptFlag.shared
        let promptsPerBatch = max(1, settings.generation.batchSize / settings.seeds)
        var finished = done.count
        progress?(finished, prompts.count)
        var start = 0
        while start < todo.count {
            if interrupt.isRaised {
                throw EvaluationError.interrupted(finished: finished, total: prompts.count, directory: directory.path)
            }
            let chunk = Array(todo[start..<min(todo.count, start + promptsPerBatch)])
            let batch = try compare(chunk)
            for r in batch { try JSONLines.append(r, to: recordsPath) }
            records += batch
            finished += chunk.count
            progress?(finished, prompts.count)
            start += chunk.count
        }
        records.sort { ($0.promptIndex, $0.seed) < ($1.promptIndex, $1.seed) }
        let report = EvaluationReport(nameA: nameA, nameB: nameB, scorer: scorer.name, unit: scorer.unit,
                                      settings: settings, records: records, scorerAgreement: scorer.heldOutAgreement)
        try report.write(to: directory.path)
        try writeGrid(records: records)
        return report
    }

    /// Generates and scores every seed of the given prompts with both models.
    func compare(_ promptIndices: [Int]) throws -> [Record] {
        var rows: [SampleRow] = [], keys: [(Int, Int)] = []
        for p in promptIndices {
            for k in 0..<settings.seeds {
                rows.append(SampleRow(prompt: prompts[p], stream: UInt64(p), seed: settings.baseSeed &+ UInt64(k)))
                keys.append((p, k))
            }
        }
        let rowPrompts = rows.map(\.prompt)
        let a = try modelA.generate(rows: rows, options: settings.generation, cache: cacheA, extraTokens: extraTokensA)
        let b = try modelB.generate(rows: rows, options: settings.generation, cache: cacheB, extraTokens: extraTokensB)
        let sa = try scorer.scores(images: a, prompts: rowPrompts)
        let sb = try scorer.scores(images: b, prompts: rowPrompts)
        return keys.indices.map { i in
            Record(promptIndex: keys[i].0, prompt: rowPrompts[i], seed: keys[i].1, scoreA: sa[i], scoreB: sb[i],
                   correctA: OracleRewardScorer.correctness(a[i], prompt: rowPrompts[i]),
                   correctB: OracleRewardScorer.correctness(b[i], prompt: rowPrompts[i]))
        }
    }

    func rewrite(_ records: [Record]) throws {
        try JSONLines.write(records, to: recordsPath)
    }

    /// A/B pairs of the first prompts at seed 0, regenerated (cheap) unless a sample cache holds them.
    func writeGrid(records: [Record]) throws {
        let shown = Array(prompts.indices.prefix(settings.gridPrompts))
        guard !shown.isEmpty else { return }
        let rows = shown.map { SampleRow(prompt: prompts[$0], stream: UInt64($0), seed: settings.baseSeed) }
        let a = try modelA.generate(rows: rows, options: settings.generation, cache: cacheA, extraTokens: extraTokensA)
        let b = try modelB.generate(rows: rows, options: settings.generation, cache: cacheB, extraTokens: extraTokensB)
        var cells: [(RGBImage, caption: String)] = []
        for (i, p) in shown.enumerated() {
            let r = records.first { $0.promptIndex == p && $0.seed == 0 }
            cells.append((a[i], caption: "\(nameA) " + (r.map { String(format: "%.2f", $0.scoreA) } ?? "") + ": " + prompts[p]))
            cells.append((b[i], caption: "\(nameB) " + (r.map { String(format: "%.2f", $0.scoreB) } ?? "")))
        }
        try ImageFile.writePNG(ImageGrid.make(cells: cells, columns: 4, cellScale: 3),
                               to: directory.appendingPathComponent("grid.png").path)
    }
}

public enum EvaluationError: Error, CustomStringConvertible {
    case noPrompts
    case invalid(String)
    case interrupted(finished: Int, total: Int, directory: String)

    public var description: String {
        switch self {
        case .noPrompts: return "no prompts to evaluate; pass --prompts FILE or a dataset with a test split"
        case .invalid(let why): return why
        case .interrupted(let f, let t, let d): return "interrupted after \(f) of \(t) prompts; run the same command again to resume (\(d))"
        }
    }
}
