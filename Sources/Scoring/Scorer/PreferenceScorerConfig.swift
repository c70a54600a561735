import Diffusion
import Foundation

/// The image tower of the scorer (`vision_config` in config.json): a small CNN for square RGB images.
/// A stride-1 stem keeps full resolution (pixel noise and thin edges are preference features), each stage
/// halves it with a stride-2 convolution, then a global average pool and a LayerNorm.
public struct ImageEncoderConfig: Codable, Equatable, Sendable {
    public var imageSize = 32
    public var numChannels = 3
    public var stemChannels = 16
    /// Output channels of each stride-2 stage.
    public var stageChannels = [32, 64, 128]
    public var normGroups = 8
    /// Two extra input planes holding x and y in [−1, 1] (CoordConv): the average pool would otherwise
    /// leave position words ("at the top left") to what zero padding happens to reveal.
    public var coordinateChannels = true
    /// Also average-pool the stem's activations before its GroupNorm into the pooled feature: global
    /// brightness, saturation and pixel-noise statistics, which per-sample normalisation removes.
    public var stemPooling = true
    /// Learned 3×3 high-pass filters on the raw pixels (no padding, so the image border adds no edge),
    /// each pooled as the mean of log(1 + response²/eps): a per-filter noise and fine-detail level that
    /// the stride-2 stages blur away. 0 = no detail branch (the default and the shipped scorer's; configs
    /// written before the branch existed decode as 0). `scorer train --detail-channels 16` was measured in
    /// docs/SCORER.md.
    public var detailChannels = 0
    public var layerNormEps: Float = 1e-5

    public init() {}

    enum CodingKeys: String, CodingKey {
        case imageSize = "image_size", numChannels = "num_channels", stemChannels = "stem_channels"
        case stageChannels = "stage_channels", normGroups = "norm_groups"
        case coordinateChannels = "coordinate_channels", stemPooling = "stem_pooling", detailChannels = "detail_channels"
        case layerNormEps = "layer_norm_eps"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        imageSize = try c.decode(Int.self, forKey: .imageSize)
        numChannels = try c.decode(Int.self, forKey: .numChannels)
        stemChannels = try c.decode(Int.self, forKey: .stemChannels)
        stageChannels = try c.decode([Int].self, forKey: .stageChannels)
        normGroups = try c.decode(Int.self, forKey: .normGroups)
        coordinateChannels = try c.decode(Bool.self, forKey: .coordinateChannels)
        stemPooling = try c.decode(Bool.self, forKey: .stemPooling)
        detailChannels = try c.decodeIfPresent(Int.self, forKey: .detailChannels) ?? 0
        layerNormEps = try c.decode(Float.self, forKey: .layerNormEps)
    }

    /// Width of the pooled feature: the last stage's channels, plus the stem's when `stemPooling`, plus
    /// the detail branch's.
    public var hiddenSize: Int { (stageChannels.last ?? stemChannels) + (stemPooling ? stemChannels : 0) + detailChannels }

    public func validate(file: String) throws {
        func bad(_ key: String, _ why: String) -> ScorerError { .config(file: file, field: "vision_config." + key, reason: why) }
        guard numChannels == 3 else { throw bad("num_channels", "is \(numChannels); only RGB (3) images are supported") }
        guard !stageChannels.isEmpty else { throw bad("stage_channels", "is empty; give at least one stage, e.g. [32, 64, 128]") }
        guard normGroups > 0 else { throw bad("norm_groups", "must be positive") }
        guard detailChannels >= 0 else { throw bad("detail_channels", "is \(detailChannels); give 0 (no detail branch) or more") }
        for (key, c) in [("stem_channels", stemChannels)] + stageChannels.map({ ("stage_channels", $0) }) {
            guard c > 0, c % normGroups == 0 else {
                throw bad(key, "has \(c) channels, which norm_groups \(normGroups) does not divide")
            }
        }
        let factor = 1 << stageChannels.count
        guard imageSize >= factor, imageSize % factor == 0 else {
            throw bad("image_size", "is \(imageSize); with \(stageChannels.count) stride-2 stages it must be a multiple of \(factor)")
        }
        guard layerNormEps > 0, layerNormEps.isFinite else { throw bad("layer_norm_eps", "must be a positive number") }
    }
}

/// The whole scorer's config.json, laid out as a CLIP config: `projection_dim`, `logit_scale_init_value`,
/// `vision_config`, and `text_config` (a transformers `CLIPTextConfig`, read and written by `TextEncoderConfig`).
public struct PreferenceScorerConfig: Codable, Equatable, Sendable {
    public static let modelType = "t2ialign_preference_scorer"

    /// Width of the shared embedding space.
    public var projectionDim = 64
    /// CLIP's initial logit scale, ln(1/0.07) ≈ 2.6593 (scale ≈ 14.3).
    public var logitScaleInitValue: Float = Float(Foundation.log(1 / 0.07))
    /// The cap on scale = exp(logit_scale) (CLIP: 100).
    public var maxLogitScale: Float = 100
    public var vision = ImageEncoderConfig()
    public var text: TextEncoderConfig

    /// The default: a 16-32-64-128 CNN and a 2-layer, 64-wide byte-level text transformer.
    public init(text: TextEncoderConfig = PreferenceScorerConfig.defaultText) {
        self.text = text
    }

    public static let defaultText = TextEncoderConfig(hiddenSize: 64, intermediateSize: 256, numHiddenLayers: 2, numAttentionHeads: 4)

    enum CodingKeys: String, CodingKey {
        case architectures, modelType = "model_type", projectionDim = "projection_dim"
        case logitScaleInitValue = "logit_scale_init_value", maxLogitScale = "max_logit_scale"
        case vision = "vision_config", text = "text_config"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let type = try c.decodeIfPresent(String.self, forKey: .modelType), type != Self.modelType {
            throw DecodingError.dataCorruptedError(forKey: .modelType, in: c,
                                                   debugDescription: "is \"\(type)\", expected \"\(Self.modelType)\"")
        }
        projectionDim = try c.decode(Int.self, forKey: .projectionDim)
        logitScaleInitValue = try c.decode(Float.self, forKey: .logitScaleInitValue)
        maxLogitScale = try c.decode(Float.self, forKey: .maxLogitScale)
        vision = try c.decode(ImageEncoderConfig.self, forKey: .vision)
        text = try c.decode(TextEncoderConfig.self, forKey: .text)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(["PreferenceScorer"], forKey: .architectures)
        try c.encode(Self.modelType, forKey: .modelType)
        try c.encode(projectionDim, forKey: .projectionDim)
        try c.encode(logitScaleInitValue, forKey: .logitScaleInitValue)
        try c.encode(maxLogitScale, forKey: .maxLogitScale)
        try c.encode(vision, forKey: .vision)
        try c.encode(text, forKey: .text)
    }

    public func validate(file: String = "scorer config") throws {
        func bad(_ key: String, _ why: String) -> ScorerError { .config(file: file, field: key, reason: why) }
        guard projectionDim > 0 else { throw bad("projection_dim", "must be positive") }
        guard maxLogitScale >= 1, maxLogitScale.isFinite else { throw bad("max_logit_scale", "must be a finite number ≥ 1 (CLIP: 100)") }
        guard logitScaleInitValue.isFinite, logitScaleInitValue >= 0, logitScaleInitValue <= Foundation.log(maxLogitScale) else {
            throw bad("logit_scale_init_value", "must be in [0, ln(max_logit_scale)] (CLIP: 2.6593)")
        }
        try vision.validate(file: file)
        do {
            try text.validate()
        } catch {
            throw bad("text_config", "is invalid: \(error)")
        }
        guard text.maxPositionEmbeddings >= 2 else { throw bad("text_config.max_position_embeddings", "must be at least 2 (BOS and EOS)") }
        guard (0..<text.vocabSize).contains(text.eosTokenId) else {
            throw bad("text_config.eos_token_id", "\(text.eosTokenId) is outside the vocabulary 0..<\(text.vocabSize)")
        }
    }

    // MARK: config.json

    public func jsonData() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try e.encode(self)
    }

    /// Reads and validates a config.json; every problem names the file and the key.
    public static func load(from path: String) throws -> PreferenceScorerConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ScorerError.config(file: path, field: nil, reason: "is missing or unreadable")
        }
        let config: PreferenceScorerConfig
        do {
            config = try JSONDecoder().decode(PreferenceScorerConfig.self, from: data)
        } catch let e as DecodingError {
            let (field, why) = describe(e)
            throw ScorerError.config(file: path, field: field, reason: why)
        } catch {
            // TextEncoderConfig reports its own keys (ModelConfigError names them).
            throw ScorerError.config(file: path, field: "text_config", reason: "is invalid: \(error)")
        }
        try config.validate(file: path)
        return config
    }

    static func describe(_ error: DecodingError) -> (String?, String) {
        func path(_ keys: [CodingKey]) -> String? {
            keys.isEmpty ? nil : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let ctx): return (path(ctx.codingPath + [key]), "is missing")
        case .typeMismatch(let type, let ctx): return (path(ctx.codingPath), "has the wrong type (expected \(type))")
        case .valueNotFound(let type, let ctx): return (path(ctx.codingPath), "is null (expected \(type))")
        case .dataCorrupted(let ctx):
            return ctx.codingPath.isEmpty ? (nil, "is not valid JSON") : (path(ctx.codingPath), ctx.debugDescription)
        @unknown default: return (nil, "\(error)")
        }
    }
}
