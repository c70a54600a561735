import Autograd
import Files
import Foundation
import Kernels
import NN

/// A complete text-to-image model: the byte tokenizer, the text encoder, the U-Net and its noise schedule.
///
/// As a `Module` its parameters are named `unet.<diffusers name>` and `text_encoder.<transformers name>`,
/// so one optimizer, one EMA and one training checkpoint cover both networks. On disk it uses diffusers'
/// pipeline folder layout, so each part is also loadable by diffusers / transformers directly:
///
///     DIR/model_index.json
///     DIR/unet/config.json, DIR/unet/diffusion_pytorch_model.safetensors
///     DIR/text_encoder/config.json, DIR/text_encoder/model.safetensors
///     DIR/scheduler/scheduler_config.json
///     DIR/README.md                      the model card (optional)
public final class TextToImageModel: Module {
    public let unet: UNet2DConditionModel
    public let textEncoder: TextEncoder
    public let tokenizer: ByteTokenizer
    public let schedule: NoiseSchedule

    public static let unetPrefix = "unet."
    public static let textEncoderPrefix = "text_encoder."

    public init(unet: UNet2DConditionModel, textEncoder: TextEncoder, schedule: NoiseSchedule) throws {
        guard unet.config.crossAttentionDim == textEncoder.config.hiddenSize else {
            throw ModelFolderError.mismatch("the U-Net's cross_attention_dim (\(unet.config.crossAttentionDim)) must equal the text encoder's hidden_size (\(textEncoder.config.hiddenSize))")
        }
        self.unet = unet
        self.textEncoder = textEncoder
        self.tokenizer = try ByteTokenizer(length: textEncoder.config.maxPositionEmbeddings)
        self.schedule = schedule
    }

    /// A freshly initialised model of a named preset (`tiny`, `small`, `medium`), seeded.
    public convenience init(preset: String, seed: UInt64, schedule: NoiseSchedule? = nil) throws {
        var rng = RNG(seed: seed, stream: 0x1717)
        let unet = try UNet2DConditionModel(config: UNetConfig.preset(named: preset), rng: &rng)
        let text = try TextEncoder(config: TextEncoderConfig.preset(named: preset), rng: &rng)
        try self.init(unet: unet, textEncoder: text, schedule: schedule ?? NoiseSchedule())
    }

    public var children: [(String, any Module)] { [("unet", unet), ("text_encoder", textEncoder)] }

    /// Image side length the U-Net was configured for.
    public var resolution: Int { unet.config.sampleSize }

    /// The text encoder's last_hidden_state for `prompts` → [B, L, D]. Builds a graph only when the text
    /// encoder's parameters require gradients (pretraining trains it; alignment keeps it frozen).
    public func encode(_ prompts: [String]) throws -> Tensor {
        try textEncoder(tokenizer.encode(prompts))
    }

    /// The denoiser's output for `sample` at `timesteps` given a text context from `encode` (plus any extra
    /// tokens): predicted noise ε̂, or v̂ when the schedule's prediction type is v_prediction.
    public func predictNoise(_ sample: Tensor, timesteps: [Float], context: Tensor) throws -> Tensor {
        try unet(sample, timesteps: timesteps, context: context)
    }

    /// An independent copy with the same weights (e.g. the frozen reference of Diffusion-DPO).
    public func clone() throws -> TextToImageModel {
        var rng = RNG(seed: 0)
        let copy = try TextToImageModel(unet: UNet2DConditionModel(config: unet.config, rng: &rng),
                                        textEncoder: TextEncoder(config: textEncoder.config, rng: &rng),
                                        schedule: schedule)
        try copy.copyParameters(from: self)
        return copy
    }
}
