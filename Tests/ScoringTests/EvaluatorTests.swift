import Autograd
import Diffusion
import Foundation
import ImageIO
import Kernels
import Scoring
import XCTest

/// The evaluator's contract (specs/evaluation.md): same noise for both models, ties ½, deterministic,
/// resumable; and the sample cache changes nothing but the time.
final class EvaluatorTests: ScorerTempDirTestCase {
    /// Mean brightness: a scorer that needs no training and separates different images.
    struct BrightnessScorer: ImageScorer {
        var name: String { "brightness" }
        var unit: String { "mean pixel value" }
        func scores(images: [RGBImage], prompts: [String]) throws -> [Double] {
            images.map { Double($0.pixels.reduce(0) { $0 + Int($1) }) / Double($0.pixels.count) }
        }
    }

    static func tinyModel(seed: UInt64) throws -> TextToImageModel {
        var rng = RNG(seed: seed)
        let unet = UNetConfig(sampleSize: 8, blockOutChannels: [8, 16, 16], attentionHeadDim: 2, crossAttentionDim: 16,
                              normNumGroups: 4)
        let text = TextEncoderConfig(hiddenSize: 16, intermediateSize: 32, numHiddenLayers: 1, numAttentionHeads: 2)
        return try TextToImageModel(unet: UNet2DConditionModel(config: unet, rng: &rng),
                                    textEncoder: TextEncoder(config: text, rng: &rng), schedule: NoiseSchedule())
    }

    let prompts = ["a red circle on a blue background", "a large green square on a white background",
                   "a small blue triangle at the top left on a yellow background"]

    var settings: Evaluator.Settings {
        var s = Evaluator.Settings()
        s.seeds = 2
        s.generation = GenerationOptions(sampler: .ddim, steps: 3, guidance: 2, batchSize: 4)
        s.bootstrapRounds = 200
        s.gridPrompts = 2
        return s
    }

    func evaluate(_ a: TextToImageModel, _ b: TextToImageModel, dir: String, cache: String? = nil) throws -> EvaluationReport {
        let e = try Evaluator(modelA: a, nameA: "a", modelB: b, nameB: "b", scorer: BrightnessScorer(), prompts: prompts,
                              settings: settings, directory: path(dir))
        if let cache {
            e.cacheA = try SampleCache(root: path(cache), model: a, options: settings.generation)
            e.cacheB = try SampleCache(root: path(cache), model: b, options: settings.generation)
        }
        return try e.run()
    }

    func testModelAgainstItselfIsFiftyPercentWithinItsInterval() throws {
        let m = try Self.tinyModel(seed: 1)
        let r = try evaluate(m, m, dir: "self")
        XCTAssertEqual(r.winRate.ties, prompts.count * settings.seeds, "same model, same noise: every comparison ties")
        XCTAssertEqual(r.winRate.rate, 0.5)
        XCTAssertLessThanOrEqual(r.winRate.lower, 0.5)
        XCTAssertGreaterThanOrEqual(r.winRate.upper, 0.5)
        for file in ["report.json", "report.md", "grid.png", "comparisons.jsonl"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: path("self/" + file)), file)
        }
    }

    func testSameSeedGivesIdenticalResultsAndDifferentModelsDiffer() throws {
        let a = try Self.tinyModel(seed: 1), b = try Self.tinyModel(seed: 2)
        let r1 = try evaluate(a, b, dir: "one"), r2 = try evaluate(a, b, dir: "two")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("one/comparisons.jsonl"))),
                       try Data(contentsOf: URL(fileURLWithPath: path("two/comparisons.jsonl"))))
        XCTAssertEqual(r1.winRate.rate, r2.winRate.rate)
        XCTAssertLessThan(r1.winRate.ties, prompts.count * settings.seeds, "two different random models should not tie everywhere")
    }

    func testInterruptedEvaluationResumesToTheSameReport() throws {
        let a = try Self.tinyModel(seed: 1), b = try Self.tinyModel(seed: 2)
        let full = try evaluate(a, b, dir: "full")
        // Keep only the first prompt's lines plus half a line, as a kill mid-write would leave them.
        let lines = try String(contentsOfFile: path("full/comparisons.jsonl"), encoding: .utf8).split(separator: "\n")
        let partial = lines.prefix(settings.seeds).joined(separator: "\n") + "\n" + lines[settings.seeds].prefix(10)
        try FileManager.default.createDirectory(atPath: path("resumed"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: path("full/settings.json"), toPath: path("resumed/settings.json"))
        try partial.write(toFile: path("resumed/comparisons.jsonl"), atomically: true, encoding: .utf8)
        let resumed = try evaluate(a, b, dir: "resumed")
        XCTAssertEqual(resumed.winRate.rate, full.winRate.rate)
        XCTAssertEqual(try String(contentsOfFile: path("resumed/comparisons.jsonl"), encoding: .utf8),
                       try String(contentsOfFile: path("full/comparisons.jsonl"), encoding: .utf8))
    }

    /// Same names, same folder, other weights (a model retrained into its run folder, a scorer folder replaced):
    /// the evaluation starts anew instead of resuming the stale comparisons.
    func testChangedWeightsOrScorerDoNotResumeStaleComparisons() throws {
        let a = try Self.tinyModel(seed: 1), b = try Self.tinyModel(seed: 2), retrained = try Self.tinyModel(seed: 3)
        _ = try evaluate(a, b, dir: "run")
        let stale = try String(contentsOfFile: path("run/comparisons.jsonl"), encoding: .utf8)
        _ = try evaluate(retrained, b, dir: "run")
        let fresh = try String(contentsOfFile: path("run/comparisons.jsonl"), encoding: .utf8)
        XCTAssertNotEqual(fresh, stale, "model A's new weights were sampled and scored")
        _ = try evaluate(retrained, b, dir: "reference")
        XCTAssertEqual(fresh, try String(contentsOfFile: path("reference/comparisons.jsonl"), encoding: .utf8))

        struct ScaledBrightness: ImageScorer {
            var factor: Double
            var name: String { "brightness" }   // the same name as BrightnessScorer, other scores
            var unit: String { "mean pixel value" }
            var fingerprint: String { "factor \(factor)" }
            func scores(images: [RGBImage], prompts: [String]) throws -> [Double] {
                try BrightnessScorer().scores(images: images, prompts: prompts).map { $0 * factor }
            }
        }
        func scored(_ factor: Double) throws -> String {
            _ = try Evaluator(modelA: a, nameA: "a", modelB: b, nameB: "b", scorer: ScaledBrightness(factor: factor),
                              prompts: prompts, settings: settings, directory: path("scorer")).run()
            return try String(contentsOfFile: path("scorer/comparisons.jsonl"), encoding: .utf8)
        }
        let once = try scored(1), twice = try scored(2)
        XCTAssertNotEqual(once, twice, "a replaced scorer rescores every comparison")
        XCTAssertTrue(twice.contains("\"scoreA\":") && !twice.isEmpty)
    }

    func testSampleCacheGivesTheSameComparisonsAndIsReused() throws {
        let a = try Self.tinyModel(seed: 1), b = try Self.tinyModel(seed: 2)
        _ = try evaluate(a, b, dir: "plain")
        _ = try evaluate(a, b, dir: "cached", cache: "cache")
        let expected = try String(contentsOfFile: path("plain/comparisons.jsonl"), encoding: .utf8)
        XCTAssertEqual(try String(contentsOfFile: path("cached/comparisons.jsonl"), encoding: .utf8), expected)

        let cacheB = try SampleCache(root: path("cache"), model: b, options: settings.generation)
        let stored = try FileManager.default.contentsOfDirectory(atPath: cacheB.directory.path).filter { $0.hasSuffix(".png") }
        XCTAssertEqual(stored.count, prompts.count * settings.seeds, "one PNG per prompt × seed")

        // A second evaluation reads the baseline from the cache: overwrite one cached image and it is what gets scored.
        let first = cacheB.path(prompt: prompts[0], stream: 0, seed: 0)
        try ImageFile.writePNG(RGBImage(width: 8, height: 8, fill: (255, 255, 255)), to: first)
        let again = try evaluate(a, b, dir: "again", cache: "cache")
        XCTAssertEqual(again.winRate.losses + again.winRate.ties + again.winRate.wins, prompts.count * settings.seeds)
        let records = try String(contentsOfFile: path("again/comparisons.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertTrue(records[0].contains("\"scoreB\":255"), "the cached (overwritten) baseline image was scored: \(records[0])")
    }

    func testCorruptCachedImageIsRegeneratedAndRewritten() throws {
        let a = try Self.tinyModel(seed: 1), b = try Self.tinyModel(seed: 2)
        _ = try evaluate(a, b, dir: "first", cache: "cache")
        let cacheB = try SampleCache(root: path("cache"), model: b, options: settings.generation)
        let damaged = cacheB.path(prompt: prompts[1], stream: 1, seed: 1)
        try Data("not a png".utf8).write(to: URL(fileURLWithPath: damaged))
        _ = try evaluate(a, b, dir: "second", cache: "cache")
        XCTAssertEqual(try String(contentsOfFile: path("second/comparisons.jsonl"), encoding: .utf8),
                       try String(contentsOfFile: path("first/comparisons.jsonl"), encoding: .utf8),
                       "the damaged image is sampled again, identically")
        XCTAssertNoThrow(try ImageFile.read(damaged), "and the cache holds a readable PNG again")
    }

    func testCacheDirectoryDependsOnWeightsAndOptions() throws {
        let a = try Self.tinyModel(seed: 1), b = try Self.tinyModel(seed: 2)
        var other = settings.generation
        other.steps += 1
        let d1 = try SampleCache(root: path("c"), model: a, options: settings.generation).directory.path
        XCTAssertEqual(d1, try SampleCache(root: path("c"), model: a, options: settings.generation).directory.path)
        XCTAssertNotEqual(d1, try SampleCache(root: path("c"), model: b, options: settings.generation).directory.path)
        XCTAssertNotEqual(d1, try SampleCache(root: path("c"), model: a, options: other).directory.path)
        var batch = settings.generation
        batch.batchSize = 1
        XCTAssertEqual(d1, try SampleCache(root: path("c"), model: a, options: batch).directory.path, "batch size does not change images")
    }

    func testConditionedSamplesAreCachedUnderTheirTokens() throws {
        // A personalized model's images depend on its (constant) user tokens: they join the fingerprint, a cache
        // made for other tokens or none is never used for them, and a cached conditioned run equals a fresh one.
        let a = try Self.tinyModel(seed: 1), b = try Self.tinyModel(seed: 2)
        var rng = RNG(seed: 4)
        let user = Tensor.randn([1, 2, 16], rng: &rng), other = Tensor.randn([1, 2, 16], rng: &rng)
        func run(_ dir: String, cache: Bool) throws -> String {
            let e = try Evaluator(modelA: a, nameA: "a", modelB: b, nameB: "b", scorer: BrightnessScorer(), prompts: prompts,
                                  settings: settings, directory: path(dir))
            e.extraTokensA = { rows in concat(Array(repeating: user, count: rows.count), axis: 0) }
            if cache {
                e.cacheA = try SampleCache(root: path("cache"), model: a, options: settings.generation, extraTokens: user)
                e.cacheB = try SampleCache(root: path("cache"), model: b, options: settings.generation)
            }
            _ = try e.run()
            return try String(contentsOfFile: path(dir + "/comparisons.jsonl"), encoding: .utf8)
        }
        let fresh = try run("fresh", cache: false)
        XCTAssertEqual(try run("cached", cache: true), fresh)
        XCTAssertEqual(try run("reused", cache: true), fresh, "read back from the cache")
        let plain = try SampleCache(root: path("cache"), model: a, options: settings.generation)
        let mine = try SampleCache(root: path("cache"), model: a, options: settings.generation, extraTokens: user)
        XCTAssertNotEqual(plain.directory, mine.directory)
        XCTAssertNotEqual(mine.directory, try SampleCache(root: path("cache"), model: a, options: settings.generation, extraTokens: other).directory)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: mine.directory.path).filter { $0.hasSuffix(".png") }.count,
                       prompts.count * settings.seeds)
    }
}
