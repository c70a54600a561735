import Datasets
import Foundation
import ImageIO
import Kernels
import Preference
import Scoring
import Diffusion

/// Tiny multi-user data for the personalization tests: 8×8 images, users who like bright images and
/// users who like dark ones (so a few pairs of a user reveal their taste), and a small user model.
enum PersonalizationWorld {
    static let resolution = TinyWorld.resolution

    enum Taste { case bright, dark }

    /// One split per entry of `splits`: split → [(user, taste, pairs)]. Each pair shows a bright and a dark
    /// image in alternating order; the user's taste decides the label.
    static func dataset(_ splits: [String: [(user: Int, taste: Taste, pairs: Int)]], seed: UInt64 = 9) throws -> String {
        let dir = NSTemporaryDirectory() + "t2i-users-\(UUID().uuidString)"
        let writer = try DatasetWriter(directory: dir, resolution: resolution)
        var rng = RNG(seed: seed)
        func image(bright: Bool) -> RGBImage {
            let base = bright ? 150 : 30
            return RGBImage(width: resolution, height: resolution,
                            pixels: (0..<(resolution * resolution * 3)).map { _ in UInt8(base + rng.nextInt(below: 70)) })
        }
        var id = 0
        for split in splits.keys.sorted() {
            for (user, taste, count) in splits[split] ?? [] {
                for i in 0..<count {
                    id += 1
                    let brightFirst = i % 2 == 0
                    let a = image(bright: brightFirst), b = image(bright: !brightFirst)
                    let firstWins = (taste == .bright) == brightFirst
                    let row = PairRow(caption: "a red circle on a blue background", jpg0: "", jpg1: "",
                                      label0: firstWins ? 1 : 0, label1: firstWins ? 0 : 1,
                                      userID: user, rankingID: id, image0UID: "u\(id)a", image1UID: "u\(id)b",
                                      bestImageUID: firstWins ? "u\(id)a" : "u\(id)b", model0: "m0", model1: "m1",
                                      hasLabel: true, areDifferent: true, createdAt: "2026-11-27T00:00:00Z")
                    try writer.append(row, image0: a, image1: b, split: split)
                }
            }
        }
        try writer.finish()
        return dir
    }

    static func encoderConfig(shots: Int = 2) -> UserEncoderConfig {
        var c = UserEncoderConfig()
        c.sampleSize = resolution
        c.blockOutChannels = [4, 8]
        c.hiddenDim = 16
        c.embeddingDim = 3
        c.shots = shots
        return c
    }

    /// An untrained scorer reading the world's images (the shared part of the user model; its scores are
    /// noise here, so what the tests measure is the taste network's).
    static func scorer(seed: UInt64 = 1) throws -> PreferenceScorer {
        var c = PreferenceScorerConfig(text: TextEncoderConfig(hiddenSize: 16, intermediateSize: 32, numHiddenLayers: 1,
                                                               numAttentionHeads: 2))
        c.projectionDim = 8
        c.vision.imageSize = resolution
        c.vision.stemChannels = 4
        c.vision.stageChannels = [8, 8]
        c.vision.normGroups = 4
        var rng = RNG(seed: seed)
        return try PreferenceScorer(config: c, rng: &rng)
    }

    /// A scorer folder for `UserEncoderTrainingConfig.scorer`.
    static func scorerFolder() throws -> String {
        let dir = temporaryDirectory("scorer")
        try scorer().save(to: dir, card: "test scorer\n")
        return dir
    }

    static func encoder(seed: UInt64 = 1, shots: Int = 2) throws -> UserEncoder {
        var rng = RNG(seed: seed)
        return try UserEncoder(config: encoderConfig(shots: shots), scorer: scorer(), rng: &rng)
    }

    /// An (untrained) encoder saved as a folder, for personalized-DPO runs.
    static func encoderFolder(shots: Int = 2) throws -> String {
        let dir = NSTemporaryDirectory() + "t2i-user-encoder-\(UUID().uuidString)"
        try encoder(shots: shots).save(to: dir)
        return dir
    }

    static func temporaryDirectory(_ tag: String) -> String {
        NSTemporaryDirectory() + "t2i-\(tag)-\(UUID().uuidString)"
    }
}
