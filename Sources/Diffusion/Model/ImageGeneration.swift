import Autograd
import Foundation
import ImageIO
import Kernels

/// How images are generated: sampler, number of steps, guidance scale.
public struct GenerationOptions: Codable, Sendable, Equatable {
    public enum Sampler: String, Codable, CaseIterable, Sendable {
        case ddim, ddpm
    }
    public var sampler: Sampler = .ddim
    public var steps = 50
    /// Classifier-free guidance scale (1 = none; the PyTorch baseline uses 3).
    public var guidance: Float = 3
    /// Guidance rescale φ (`ClassifierFreeGuidance.rescale`); nil = off, and then absent from the encoded
    /// options, so evaluations and sample caches from before it existed keep their identity.
    public var guidanceRescale: Float?
    /// DDIM stochasticity (0 = deterministic).
    public var eta: Float = 0
    /// Rows per network call (bounds memory; results do not depend on it).
    public var batchSize = 16

    public init(sampler: Sampler = .ddim, steps: Int = 50, guidance: Float = 3, guidanceRescale: Float? = nil, eta: Float = 0,
                batchSize: Int = 16) {
        self.sampler = sampler
        self.steps = steps
        self.guidance = guidance
        self.guidanceRescale = guidanceRescale
        self.eta = eta
        self.batchSize = batchSize
    }
}

extension TextToImageModel {
    /// One image per prompt. Image i starts from noise drawn from `generators[i]` (see
    /// `Sampling.generators`), so two models given the same generators start from the same x_T — what a
    /// fair A/B comparison needs — and an image does not depend on which others share its batch.
    /// `extraTokens(rows)` may append conditioning tokens (e.g. a user embedding) to the text context of the
    /// given prompt rows; the unconditional rows get none unless it says so.
    public func generate(prompts: [String], generators: [RNG], options: GenerationOptions = GenerationOptions(),
                         extraTokens: ((_ rows: Range<Int>) throws -> Tensor?)? = nil,
                         progress: ((_ imagesDone: Int, _ total: Int) -> Void)? = nil) throws -> [RGBImage] {
        precondition(prompts.count == generators.count, "generate: one generator per prompt")
        let guidance = try ClassifierFreeGuidance(scale: options.guidance, rescale: options.guidanceRescale ?? 0)
        let r = resolution
        var images: [RGBImage] = []
        images.reserveCapacity(prompts.count)
        try GradMode.withoutGrad {
            let empty = try encode([""])
            var start = 0
            while start < prompts.count {
                let rows = start..<min(prompts.count, start + max(1, options.batchSize))
                let n = rows.count
                var conditional = try encode(Array(prompts[rows]))
                if let extra = try extraTokens?(rows) {
                    conditional = try UNet2DConditionModel.appendingTokens(extra, to: conditional)
                }
                // The null condition: "" padded with zero tokens where the conditional context is longer.
                var unconditional = Self.repeatRows(empty, n)
                if conditional.shape[1] > unconditional.shape[1] {
                    let pad = Tensor(zeros: [n, conditional.shape[1] - unconditional.shape[1], conditional.shape[2]])
                    unconditional = concat([unconditional, pad], axis: 1)
                }
                let both = concat([unconditional, conditional], axis: 0)
                let x = try Sampling.sample(
                    scheduler: try makeScheduler(options), shape: [n, 3, r, r], steps: options.steps,
                    guidance: guidance, generators: Array(generators[rows])
                ) { input in
                    let context: Tensor
                    switch input.batch {
                    case .conditionalOnly: context = conditional
                    case .unconditionalOnly: context = unconditional
                    case .unconditionalThenConditional: context = both
                    }
                    let sample = Tensor(shape: input.shape, data: input.sample)
                    return try self.unet(sample, timesteps: [Float(input.timestep)], context: context).toArray()
                }
                x.withUnsafeBufferPointer { p in
                    for i in 0..<n { images.append(RGBImage(chw: p.baseAddress! + i * 3 * r * r, width: r, height: r)) }
                }
                start = rows.upperBound
                progress?(start, prompts.count)
            }
        }
        return images
    }

    /// Both samplers clip the predicted x_0 to the pixel range [−1, 1], diffusers' default for its DDPM and DDIM
    /// schedulers. It matters in pixel space: at high t, x_0 = (x_t − √(1−ᾱ)·ε̂)/√ᾱ divides by √ᾱ ≈ 0.006, so an
    /// unclipped deterministic DDIM trajectory carries a small ε error into saturated noise.
    private func makeScheduler(_ options: GenerationOptions) throws -> any DiffusionScheduler {
        switch options.sampler {
        case .ddim:
            // A v-prediction model needs ε̂ from the clipped x̂_0 (see DDIMScheduler.Config); ε models keep
            // diffusers' default, so their samples are unchanged.
            return try DDIMScheduler(schedule: schedule, config: .init(clipSample: true, eta: options.eta,
                                                                       useClippedModelOutput: schedule.predictionType == .vPrediction))
        case .ddpm: return try DDPMScheduler(schedule: schedule)
        }
    }

    /// `t` [1, L, D] repeated to [n, L, D].
    static func repeatRows(_ t: Tensor, _ n: Int) -> Tensor {
        concat(Array(repeating: t, count: n), axis: 0)
    }
}
