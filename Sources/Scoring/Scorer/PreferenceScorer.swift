import Autograd
import Diffusion
import Foundation
import Kernels
import NN

/// The PickScore-style preference scorer: a dual encoder whose image and text towers map to unit vectors,
/// scoring an image for a prompt as s = scale · cos(image, text), scale = exp(logit_scale) capped at
/// `max_logit_scale` (100, as CLIP). Higher is preferred; the unit is "scale × cosine" (at most ±100).
///
/// State-dict names follow transformers' `CLIPModel`: `vision_model.…`, `text_model.…` (the byte-level
/// `TextEncoder`, pooled at the first EOS token as CLIP does), `visual_projection.weight`,
/// `text_projection.weight` (no biases) and the scalar `logit_scale`.
public final class PreferenceScorer: Module {
    public let config: PreferenceScorerConfig
    public let visionModel: ImageEncoder
    public let textModel: TextEncoder
    public let visualProjection: Linear
    public let textProjection: Linear
    /// Shape [] (a scalar), as CLIP's.
    public let logitScale: Tensor
    public let tokenizer: ByteTokenizer

    /// A new network, drawn from `rng` (CLIP's init for the projections: N(0, 1/in)).
    public init(config: PreferenceScorerConfig, rng: inout RNG) throws {
        try config.validate()
        self.config = config
        visionModel = ImageEncoder(config: config.vision, rng: &rng)
        textModel = try TextEncoder(config: config.text, rng: &rng)
        visualProjection = Linear(config.vision.hiddenSize, config.projectionDim, bias: false,
                                  weightStd: 1 / Float(config.vision.hiddenSize).squareRoot(), rng: &rng)
        textProjection = Linear(config.text.hiddenSize, config.projectionDim, bias: false,
                                weightStd: 1 / Float(config.text.hiddenSize).squareRoot(), rng: &rng)
        logitScale = Tensor(shape: [], data: [config.logitScaleInitValue], requiresGrad: true)
        tokenizer = try ByteTokenizer(length: config.text.maxPositionEmbeddings)
    }

    public var ownParameters: [(String, Tensor)] { [("logit_scale", logitScale)] }

    /// The text encoder's children already carry transformers' `text_model.` prefix.
    public var children: [(String, any Module)] {
        [("vision_model", visionModel)] + textModel.children
            + [("visual_projection", visualProjection), ("text_projection", textProjection)]
    }

    public var resolution: Int { config.vision.imageSize }
    var maxLogit: Float { Foundation.log(config.maxLogitScale) }

    /// scale = exp(min(logit_scale, ln max)), shape [1].
    public func scale() -> Tensor { exp(clampMax(logitScale, maxLogit)).reshaped([1]) }

    /// After an optimizer step, keep logit_scale in [0, ln max] as open_clip does, so the cap in `scale()`
    /// never silently blocks its gradient.
    public func clampLogitScale() {
        logitScale.data[0] = min(max(logitScale.data[0], 0), maxLogit)
    }

    /// [N, 3, S, S] pixels in [−1, 1] → [N, projection_dim] unit vectors.
    public func imageEmbeddings(_ pixels: Tensor) throws -> Tensor {
        let s = resolution
        guard pixels.rank == 4, pixels.shape[1] == 3, pixels.shape[2] == s, pixels.shape[3] == s, pixels.shape[0] > 0 else {
            throw ScorerError.invalidInput("the scorer takes [N, 3, \(s), \(s)] images, got shape \(pixels.shape); resize to its image_size \(s)")
        }
        return l2Normalize(visualProjection(visionModel(pixels)))
    }

    /// Prompts → [B, projection_dim] unit vectors (transformer output at each prompt's first EOS token).
    public func textEmbeddings(_ prompts: [String]) throws -> Tensor {
        guard !prompts.isEmpty else { throw ScorerError.invalidInput("no prompts to embed") }
        let full = tokenizer.encode(prompts)
        let eos = Int32(config.text.eosTokenId)
        let positions = (0..<full.count).map { i in
            full.row(i).firstIndex(of: eos).map { $0 - i * full.length } ?? full.length - 1
        }
        // The attention is causal, so the EOS state never sees the PAD tokens after it: running only up to
        // the batch's last EOS gives the same embeddings for less work.
        let length = (positions.max() ?? 0) + 1
        let ids = (0..<full.count).flatMap { full.row($0).prefix(length) }
        let tokens = try TokenBatch(ids: ids, count: full.count, length: length, vocabularySize: config.text.vocabSize)
        let hidden = try textModel(tokens)
        return l2Normalize(textProjection(gatherRows(hidden, indices: positions)))
    }

    /// s = scale · cos for [N] image/prompt rows (text repeated as needed by the caller).
    public func scores(imageEmbeddings img: Tensor, textEmbeddings text: Tensor) -> Tensor {
        sum(img * text, axis: -1) * scale()
    }

    /// The scores of image i for prompt i → [N].
    public func scores(pixels: Tensor, prompts: [String]) throws -> Tensor {
        guard pixels.rank == 4, pixels.shape[0] == prompts.count else {
            throw ScorerError.invalidInput("\(pixels.rank == 4 ? pixels.shape[0] : 0) images for \(prompts.count) prompts; give one prompt per image")
        }
        return scores(imageEmbeddings: try imageEmbeddings(pixels), textEmbeddings: try textEmbeddings(prompts))
    }

    /// Scores of both images of B pairs sharing one prompt each (the prompt is encoded once) → ([B], [B]).
    public func pairScores(first: Tensor, second: Tensor, prompts: [String]) throws -> (Tensor, Tensor) {
        let b = prompts.count
        guard first.shape == second.shape, first.rank == 4, first.shape[0] == b else {
            throw ScorerError.invalidInput("pair images \(first.shape) and \(second.shape) for \(b) prompts; give [B, 3, S, S] twice")
        }
        let text = try textEmbeddings(prompts)
        let img = try imageEmbeddings(concat([first, second], axis: 0))
        let s = scores(imageEmbeddings: img, textEmbeddings: concat([text, text], axis: 0))
        let parts = split(s, sizes: [b, b], axis: 0)
        return (parts[0], parts[1])
    }
}
