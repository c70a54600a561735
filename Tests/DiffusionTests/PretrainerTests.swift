import Autograd
import Datasets
import Diffusion
import Files
import Foundation
import Kernels
import XCTest

/// A deterministic stand-in for the Shapes world: random images, one caption.
private struct RandomImages: CaptionedImageSource {
    let resolution = 8
    var summary: String { "random test images" }
    func batch(count: Int, rng: inout RNG) throws -> (images: [Float], captions: [String]) {
        (rng.uniform(count: count * 3 * resolution * resolution, low: -1, high: 1), Array(repeating: "a red circle", count: count))
    }
}

final class PretrainerTests: XCTestCase {
    private func tinyModel() throws -> TextToImageModel {
        var rng = RNG(seed: 1)
        return try TextToImageModel(
            unet: UNet2DConditionModel(config: UNetConfig(sampleSize: 8, blockOutChannels: [8, 16, 16], attentionHeadDim: 2,
                                                          crossAttentionDim: 16, normNumGroups: 4), rng: &rng),
            textEncoder: TextEncoder(config: TextEncoderConfig(hiddenSize: 16, intermediateSize: 32, numHiddenLayers: 1,
                                                               numAttentionHeads: 2), rng: &rng),
            schedule: NoiseSchedule())
    }

    private func run(steps: Int, dir: String, noiseOffset: Double? = nil) throws {
        var config = PretrainingConfig()
        config.noiseOffset = noiseOffset
        config.steps = steps
        config.batchSize = 2
        config.warmupSteps = 1
        config.checkpointEvery = 2
        try Pretrainer(model: tinyModel(), source: RandomImages(), config: config, runDirectory: dir).run { _, _, _ in "card" }
    }

    private func losses(_ dir: String) throws -> [Double] {
        try JSONLines.read(Pretrainer.Metrics.self, from: dir + "/metrics.jsonl").map(\.value.loss)
    }

    func testResumedRunFollowsTheUninterruptedTrajectory() throws {
        let whole = NSTemporaryDirectory() + "t2i-pre-\(UUID().uuidString)"
        try run(steps: 4, dir: whole)
        let split = NSTemporaryDirectory() + "t2i-pre-\(UUID().uuidString)"
        try run(steps: 2, dir: split)
        XCTAssertTrue(FileManager.default.fileExists(atPath: split + "/model/unet/config.json"), "a model is written at every checkpoint")
        try run(steps: 4, dir: split)
        XCTAssertEqual(try losses(whole), try losses(split))
        let a = try TextToImageModel.load(from: whole + "/model").stateDict()
        let b = try TextToImageModel.load(from: split + "/model").stateDict()
        for (name, t) in a { XCTAssertEqual(t.toArray(), b[name]?.toArray(), name) }
    }

    func testOffsetNoiseShiftsEachImageChannelByOneDrawOfTheGivenScale() throws {
        var rng = RNG(seed: 3)
        let noise = Tensor(shape: [64, 3, 4, 4], data: [Float](repeating: 0, count: 64 * 3 * 16))
        Pretrainer.addOffsetNoise(to: noise, scale: 0.1, rng: &rng)
        let v = noise.toArray()
        var shifts: [Float] = []
        for plane in 0..<(64 * 3) {
            let values = v[(plane * 16)..<((plane + 1) * 16)]
            XCTAssertEqual(Set(values).count, 1, "one constant per (image, channel)")
            shifts.append(values.first!)
        }
        let mean = shifts.reduce(0, +) / Float(shifts.count)
        let std = (shifts.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(shifts.count)).squareRoot()
        XCTAssertEqual(std, 0.1, accuracy: 0.02, "N(0, 0.1²) over 192 draws")
        XCTAssertEqual(mean, 0, accuracy: 0.03)
    }

    func testOffsetNoiseChangesTrainingAndStillResumesExactly() throws {
        let plain = NSTemporaryDirectory() + "t2i-pre-\(UUID().uuidString)"
        try run(steps: 2, dir: plain)
        let whole = NSTemporaryDirectory() + "t2i-pre-\(UUID().uuidString)"
        try run(steps: 4, dir: whole, noiseOffset: 0.3)
        let split = NSTemporaryDirectory() + "t2i-pre-\(UUID().uuidString)"
        try run(steps: 2, dir: split, noiseOffset: 0.3)
        try run(steps: 4, dir: split, noiseOffset: 0.3)
        XCTAssertEqual(try losses(whole), try losses(split))
        XCTAssertNotEqual(try losses(whole).prefix(2), try losses(plain)[...], "the offset is part of the target")
        XCTAssertThrowsError(try run(steps: 6, dir: split), "resuming with another --noise-offset is refused")
    }

    func testPredictionTypeIsSavedAndAnUnknownOneIsAClearError() throws {
        let base = try tinyModel()
        var schedule = base.schedule
        schedule.predictionType = .vPrediction
        let model = try TextToImageModel(unet: base.unet, textEncoder: base.textEncoder, schedule: schedule)
        let dir = NSTemporaryDirectory() + "t2i-model-\(UUID().uuidString)"
        try model.save(to: dir, card: nil)
        let config = dir + "/scheduler/scheduler_config.json"
        XCTAssertTrue(try String(contentsOfFile: config, encoding: .utf8).contains("\"v_prediction\""))
        XCTAssertEqual(try TextToImageModel.load(from: dir).schedule.predictionType, .vPrediction)
        let text = try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: "v_prediction", with: "sample")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try TextToImageModel.load(from: dir)) {
            XCTAssertTrue("\($0)".contains("scheduler_config.json") && "\($0)".contains("prediction_type"), "\($0)")
        }
    }

    func testVPredictionPretrainingTrainsAndResumesExactly() throws {
        func runV(_ steps: Int, _ dir: String) throws {
            var config = PretrainingConfig()
            config.steps = steps
            config.batchSize = 2
            config.warmupSteps = 1
            config.checkpointEvery = 2
            let base = try tinyModel()
            var schedule = base.schedule
            schedule.predictionType = .vPrediction
            let model = try TextToImageModel(unet: base.unet, textEncoder: base.textEncoder, schedule: schedule)
            try Pretrainer(model: model, source: RandomImages(), config: config, runDirectory: dir).run { _, _, _ in "card" }
        }
        let whole = NSTemporaryDirectory() + "t2i-pre-\(UUID().uuidString)"
        try runV(4, whole)
        let split = NSTemporaryDirectory() + "t2i-pre-\(UUID().uuidString)"
        try runV(2, split)
        try runV(4, split)
        XCTAssertEqual(try losses(whole), try losses(split))
        let plain = NSTemporaryDirectory() + "t2i-pre-\(UUID().uuidString)"
        try run(steps: 4, dir: plain)
        XCTAssertNotEqual(try losses(whole), try losses(plain), "the v target differs from ε")
        XCTAssertEqual(try TextToImageModel.load(from: whole + "/model").schedule.predictionType, .vPrediction)
    }

    func testModelFolderRoundTripAndBadFolder() throws {
        let model = try tinyModel()
        let dir = NSTemporaryDirectory() + "t2i-model-\(UUID().uuidString)"
        try model.save(to: dir, card: "# card")
        let loaded = try TextToImageModel.load(from: dir)
        for (name, t) in model.stateDict() { XCTAssertEqual(t.toArray(), loaded.stateDict()[name]?.toArray(), name) }
        XCTAssertThrowsError(try TextToImageModel.load(from: dir + "/nowhere")) { XCTAssertTrue("\($0)".contains("no such directory"), "\($0)") }
        try FileManager.default.removeItem(atPath: dir + "/text_encoder/model.safetensors")
        XCTAssertThrowsError(try TextToImageModel.load(from: dir)) { XCTAssertTrue("\($0)".contains("missing text_encoder/model.safetensors"), "\($0)") }
    }
}
