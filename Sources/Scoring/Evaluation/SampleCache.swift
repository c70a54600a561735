import Autograd
import Diffusion
import Files
import Foundation
import ImageIO
import Kernels
import NN

/// Generated images kept on disk under what determines them — the model's weights, noise schedule,
/// prediction type and generation options, then the prompt, its index (the noise stream) and the seed — so
/// that evaluating several models against one baseline samples the baseline once. A personalized model's
/// images are cached under its user tokens too (the same tokens on every row, so they join the fingerprint).
/// Images are stored as the 8-bit PNGs that scorers see anyway, so a cached image scores exactly like a fresh one.
public struct SampleCache {
    /// ROOT/<fingerprint of model + options>/.
    public let directory: URL
    /// Whether the fingerprint includes constant extra tokens (then only generations with those tokens use it).
    public let conditioned: Bool

    /// `extraTokens`: the [1, M, D] tokens appended to every conditional row (a user's), nil for none.
    public init(root: String, model: TextToImageModel, options: GenerationOptions, extraTokens: Tensor? = nil) throws {
        var options = options
        options.batchSize = 0  // rows do not depend on the batch they share
        var h = FNV1a64()
        model.hashWeights(into: &h)
        for branch in model.unet.decoupledBranches { branch.hashWeights(into: &h) }  // a user adapter's K′/V′
        h.add(model.schedule.alphasCumprodFloat)
        h.add(Array(model.schedule.predictionType.name.utf8))
        h.add(Array(try JSONFormat.pretty.encode(options)))
        if let extraTokens {
            h.add(extraTokens.shape.map(UInt64.init))
            h.add(extraTokens.toArray())
        }
        conditioned = extraTokens != nil
        directory = URL(fileURLWithPath: root).appendingPathComponent(String(format: "%016llx", h.value))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    public func path(prompt: String, stream: UInt64, seed: UInt64) -> String {
        var h = FNV1a64()
        h.add(Array(prompt.utf8))
        h.add([stream, seed])
        return directory.appendingPathComponent(String(format: "%016llx.png", h.value)).path
    }

    /// The cached image, or nil when absent or unreadable (it is then regenerated and rewritten).
    func image(prompt: String, stream: UInt64, seed: UInt64) -> RGBImage? {
        let p = path(prompt: prompt, stream: stream, seed: seed)
        guard FileManager.default.fileExists(atPath: p) else { return nil }
        return try? ImageFile.read(p)
    }

    func store(_ image: RGBImage, prompt: String, stream: UInt64, seed: UInt64) throws {
        try ImageFile.writePNG(image, to: path(prompt: prompt, stream: stream, seed: seed))
    }
}

/// One row to generate: the prompt, the noise stream (its prompt index) and the seed.
struct SampleRow {
    var prompt: String, stream: UInt64, seed: UInt64
    var generator: RNG { RNG(seed: seed, stream: stream) }
}

extension TextToImageModel {
    /// `generate` for `rows`, reading what `cache` holds and generating (and storing) only the rest. With
    /// `extraTokens`, only a cache fingerprinted with those same constant tokens is used.
    func generate(rows: [SampleRow], options: GenerationOptions, cache: SampleCache?,
                  extraTokens: ((Range<Int>) throws -> Tensor?)?) throws -> [RGBImage] {
        guard let cache, (extraTokens != nil) == cache.conditioned else {
            return try generate(prompts: rows.map(\.prompt), generators: rows.map(\.generator), options: options,
                                extraTokens: extraTokens)
        }
        var images = rows.map { cache.image(prompt: $0.prompt, stream: $0.stream, seed: $0.seed) }
        let missing = images.indices.filter { images[$0] == nil }
        if !missing.isEmpty {
            let made = try generate(prompts: missing.map { rows[$0].prompt }, generators: missing.map { rows[$0].generator },
                                    options: options, extraTokens: extraTokens)
            for (i, image) in zip(missing, made) {
                images[i] = image
                try cache.store(image, prompt: rows[i].prompt, stream: rows[i].stream, seed: rows[i].seed)
            }
        }
        return images.map { $0! }
    }
}
