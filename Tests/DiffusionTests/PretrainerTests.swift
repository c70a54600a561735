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

    private func run(steps: Int, dir: String) throws {
        var config = PretrainingConfig()
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
