import Datasets
import Diffusion
import Foundation
import ImageIO
import Kernels

/// A very small model and dataset, so trainer tests run in seconds.
enum TinyWorld {
    static let resolution = 8

    static func model(seed: UInt64 = 3) throws -> TextToImageModel {
        var rng = RNG(seed: seed)
        let unetConfig = UNetConfig(sampleSize: resolution, blockOutChannels: [8, 16, 16], attentionHeadDim: 2,
                                    crossAttentionDim: 16, normNumGroups: 4)
        let textConfig = TextEncoderConfig(hiddenSize: 16, intermediateSize: 32, numHiddenLayers: 1, numAttentionHeads: 2)
        return try TextToImageModel(unet: UNet2DConditionModel(config: unetConfig, rng: &rng),
                                    textEncoder: TextEncoder(config: textConfig, rng: &rng), schedule: NoiseSchedule())
    }

    /// `pairs` random pairs judged by user 0 (plus one by user 5 that a user filter must drop), winners brighter.
    static func dataset(pairs: Int = 12) throws -> String {
        let dir = NSTemporaryDirectory() + "t2i-tiny-\(UUID().uuidString)"
        let writer = try DatasetWriter(directory: dir, resolution: resolution)
        var rng = RNG(seed: 9)
        func image(bright: Bool) -> RGBImage {
            let base = bright ? 160 : 40
            return RGBImage(width: resolution, height: resolution,
                            pixels: (0..<(resolution * resolution * 3)).map { _ in UInt8(base + rng.nextInt(below: 60)) })
        }
        for i in 0...pairs {
            let winnerFirst = i % 2 == 0
            let a = image(bright: winnerFirst), b = image(bright: !winnerFirst)
            let row = PairRow(caption: "a red circle on a blue background", jpg0: "", jpg1: "",
                              label0: winnerFirst ? 1 : 0, label1: winnerFirst ? 0 : 1,
                              userID: i == pairs ? 5 : 0, rankingID: i, image0UID: "a\(i)", image1UID: "b\(i)",
                              bestImageUID: winnerFirst ? "a\(i)" : "b\(i)", model0: "m0", model1: "m1",
                              hasLabel: true, areDifferent: true, createdAt: "2026-11-27T00:00:00Z",
                              caption0: "a red circle on a blue background", caption1: "a red square on a blue background")
            try writer.append(row, image0: a, image1: b, split: "train")
        }
        try writer.finish()
        return dir
    }
}
