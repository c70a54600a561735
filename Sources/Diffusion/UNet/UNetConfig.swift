import Foundation

/// The architecture of a `UNet2DConditionModel`, read from and written as diffusers' config.json keys.
///
/// Only what this package implements is representable: ResNet + (cross-)attention levels, a cross-attention
/// mid block, sinusoidal timesteps, SiLU, 1×1-conv projections around the transformers, one transformer
/// layer per block. Other diffusers options must hold their defaults (`init(from:)` says which key differs).
public struct UNetConfig: Codable, Equatable, Sendable {
    public static let downBlockTypes: Set<String> = ["DownBlock2D", "CrossAttnDownBlock2D"]
    public static let upBlockTypes: Set<String> = ["UpBlock2D", "CrossAttnUpBlock2D"]
    public static let midBlockType = "UNetMidBlock2DCrossAttn"

    public var sampleSize: Int
    public var inChannels: Int
    public var outChannels: Int
    public var flipSinToCos: Bool
    public var freqShift: Int
    /// Per level, from the highest resolution down; `CrossAttn…` levels attend to the context.
    public var downBlockTypes: [String]
    /// Per level, from the lowest resolution up.
    public var upBlockTypes: [String]
    public var blockOutChannels: [Int]
    /// ResNets per down level (up levels have one more), per level.
    public var layersPerBlock: [Int]
    /// The number of attention heads per level. diffusers' key is `attention_head_dim`, but its
    /// UNet2DConditionModel passes this value as the head count (diffusers issue #2011).
    public var attentionHeadDim: [Int]
    public var crossAttentionDim: Int
    public var normNumGroups: Int
    public var normEps: Float
    public var downsamplePadding: Int

    public init(sampleSize: Int = 32, inChannels: Int = 3, outChannels: Int = 3, flipSinToCos: Bool = true,
                freqShift: Int = 0,
                downBlockTypes: [String] = ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
                upBlockTypes: [String] = ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
                blockOutChannels: [Int], layersPerBlock: Int = 1, attentionHeadDim: Int = 4,
                crossAttentionDim: Int = 128, normNumGroups: Int = 32, normEps: Float = 1e-5,
                downsamplePadding: Int = 1) {
        self.sampleSize = sampleSize
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.flipSinToCos = flipSinToCos
        self.freqShift = freqShift
        self.downBlockTypes = downBlockTypes
        self.upBlockTypes = upBlockTypes
        self.blockOutChannels = blockOutChannels
        self.layersPerBlock = Array(repeating: layersPerBlock, count: blockOutChannels.count)
        self.attentionHeadDim = Array(repeating: attentionHeadDim, count: blockOutChannels.count)
        self.crossAttentionDim = crossAttentionDim
        self.normNumGroups = normNumGroups
        self.normEps = normEps
        self.downsamplePadding = downsamplePadding
    }

    // MARK: Presets (../shared/bench/models.py UNET_VARIANTS)

    /// 1.74M parameters.
    public static let tiny = UNetConfig(blockOutChannels: [32, 64, 64])
    /// 6.7M parameters.
    public static let small = UNetConfig(blockOutChannels: [64, 128, 128])
    /// 14.9M parameters.
    public static let medium = UNetConfig(blockOutChannels: [96, 192, 192])

    public static let presets: [String: UNetConfig] = ["tiny": tiny, "small": small, "medium": medium]

    public static func preset(named name: String) throws -> UNetConfig {
        guard let c = presets[name] else { throw ModelConfigError.unknownPreset(name, known: presets.keys.sorted()) }
        return c
    }

    // MARK: Derived sizes

    public var levels: Int { blockOutChannels.count }
    /// Width of the timestep MLP (diffusers: 4 × block_out_channels[0]).
    public var timeEmbeddingDim: Int { 4 * blockOutChannels[0] }
    /// Width of the sinusoidal timestep features.
    public var timestepFeatureDim: Int { blockOutChannels[0] }
    /// The spatial size must be divisible by this (one halving per level but the last).
    public var spatialMultiple: Int { 1 << (levels - 1) }

    // MARK: Validation

    /// Checks the config is internally consistent and buildable; throws naming the key at fault.
    public func validate() throws {
        func bad(_ key: String, _ reason: String) -> ModelConfigError { .invalid(key: key, reason: reason) }
        guard levels >= 1 else { throw bad("block_out_channels", "is empty") }
        guard downBlockTypes.count == levels else {
            throw bad("down_block_types", "has \(downBlockTypes.count) entries for \(levels) levels (block_out_channels)")
        }
        guard upBlockTypes.count == levels else {
            throw bad("up_block_types", "has \(upBlockTypes.count) entries for \(levels) levels (block_out_channels)")
        }
        for t in downBlockTypes where !Self.downBlockTypes.contains(t) {
            throw ModelConfigError.unsupported(key: "down_block_types", value: "\"\(t)\"",
                                               hint: "use one of \(Self.downBlockTypes.sorted().joined(separator: ", "))")
        }
        for t in upBlockTypes where !Self.upBlockTypes.contains(t) {
            throw ModelConfigError.unsupported(key: "up_block_types", value: "\"\(t)\"",
                                               hint: "use one of \(Self.upBlockTypes.sorted().joined(separator: ", "))")
        }
        guard inChannels > 0 else { throw bad("in_channels", "must be positive") }
        guard outChannels > 0 else { throw bad("out_channels", "must be positive") }
        guard normNumGroups > 0 else { throw bad("norm_num_groups", "must be positive") }
        guard normEps > 0 else { throw bad("norm_eps", "must be positive") }
        guard crossAttentionDim > 0 else { throw bad("cross_attention_dim", "must be positive") }
        guard downsamplePadding >= 0 else { throw bad("downsample_padding", "must not be negative") }
        guard layersPerBlock.count == levels, layersPerBlock.allSatisfy({ $0 >= 1 }) else {
            throw bad("layers_per_block", "must be at least 1 for each of the \(levels) levels")
        }
        guard attentionHeadDim.count == levels, attentionHeadDim.allSatisfy({ $0 >= 1 }) else {
            throw bad("attention_head_dim", "must be at least 1 for each of the \(levels) levels")
        }
        for c in blockOutChannels {
            guard c > 0, c % normNumGroups == 0 else {
                throw bad("block_out_channels", "entry \(c) is not a positive multiple of norm_num_groups \(normNumGroups)")
            }
        }
        guard timestepFeatureDim % 2 == 0 else {
            throw bad("block_out_channels", "first entry \(blockOutChannels[0]) must be even (sin/cos timestep features)")
        }
        guard freqShift != timestepFeatureDim / 2 else {
            throw bad("freq_shift", "must differ from half of block_out_channels[0] (\(timestepFeatureDim / 2)): the timestep frequencies divide by their difference")
        }
        // Every level that attends, and the mid block (last level's heads), splits its channels into heads.
        let down = downBlockTypes.enumerated().map { ($0.element, $0.offset) }
        let up = upBlockTypes.enumerated().map { ($0.element, levels - 1 - $0.offset) }
        for (type, level) in down + up + [("CrossAttnMid", levels - 1)] where type.hasPrefix("CrossAttn") {
            let (c, h) = (blockOutChannels[level], attentionHeadDim[level])
            guard c % h == 0 else {
                throw bad("attention_head_dim", "\(h) heads do not divide the \(c) channels of level \(level)")
            }
        }
    }

    // MARK: config.json

    public static func load(from path: String) throws -> UNetConfig {
        try ConfigFile.load(UNetConfig.self, from: path)
    }

    /// The config as diffusers' config.json (pretty, sorted keys).
    public func jsonData() throws -> Data { try ConfigFile.encode(self) }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: ConfigKey.self)
        let className: String? = try c.value("_class_name", default: nil)
        if let className, className != "UNet2DConditionModel" {
            throw ModelConfigError.unsupported(key: "_class_name", value: "\"\(className)\"",
                                               hint: "this is not a UNet2DConditionModel config")
        }
        sampleSize = try c.value("sample_size", default: 32)
        inChannels = try c.value("in_channels", default: 4)
        outChannels = try c.value("out_channels", default: 4)
        flipSinToCos = try c.value("flip_sin_to_cos", default: true)
        freqShift = try c.value("freq_shift", default: 0)
        downBlockTypes = try c.value("down_block_types", default: ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                                                                   "CrossAttnDownBlock2D", "DownBlock2D"])
        upBlockTypes = try c.value("up_block_types", default: ["UpBlock2D", "CrossAttnUpBlock2D",
                                                               "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"])
        blockOutChannels = try c.value("block_out_channels", default: [320, 640, 1280, 1280])
        layersPerBlock = try c.perLevel("layers_per_block", levels: blockOutChannels.count, default: 2)
        attentionHeadDim = try c.perLevel("attention_head_dim", levels: blockOutChannels.count, default: 8)
        if case .array = try c.value("cross_attention_dim", default: ConfigJSONValue.null) {
            throw ModelConfigError.unsupported(key: "cross_attention_dim", value: "a list",
                                               hint: "per-level cross-attention widths are not implemented; use one integer")
        }
        crossAttentionDim = try c.value("cross_attention_dim", default: 1280)
        normNumGroups = try c.value("norm_num_groups", default: 32)
        normEps = try c.value("norm_eps", default: 1e-5)
        downsamplePadding = try c.value("downsample_padding", default: 1)

        let midType: String? = try c.value("mid_block_type", default: Self.midBlockType)
        guard midType == Self.midBlockType else {
            throw ModelConfigError.unsupported(key: "mid_block_type", value: midType.map { "\"\($0)\"" } ?? "null",
                                               hint: "only \(Self.midBlockType) is implemented")
        }
        let null = ConfigJSONValue.null, f = ConfigJSONValue.bool(false)
        let one = ConfigJSONValue.number(1), zero = ConfigJSONValue.number(0)
        let perLevelOnes = ConfigJSONValue.array(Array(repeating: one, count: blockOutChannels.count))
        try c.requireDefault("act_fn", [.string("silu")], feature: "an activation other than SiLU")
        try c.requireDefault("num_attention_heads", [null], feature: "num_attention_heads (diffusers rejects it too)")
        try c.requireDefault("center_input_sample", [f], feature: "center_input_sample")
        try c.requireDefault("only_cross_attention", [f, .array(Array(repeating: f, count: blockOutChannels.count))],
                             feature: "only_cross_attention")
        try c.requireDefault("dual_cross_attention", [f], feature: "dual_cross_attention")
        try c.requireDefault("use_linear_projection", [f], feature: "use_linear_projection (linear proj_in/proj_out)")
        try c.requireDefault("upcast_attention", [f, .bool(true)], feature: "upcast_attention")  // no-op in Float32
        try c.requireDefault("transformer_layers_per_block", [one, perLevelOnes], feature: "several transformer layers per block")
        try c.requireDefault("reverse_transformer_layers_per_block", [null], feature: "reverse_transformer_layers_per_block")
        try c.requireDefault("dropout", [zero], feature: "dropout")
        try c.requireDefault("mid_block_scale_factor", [one], feature: "mid_block_scale_factor ≠ 1")
        try c.requireDefault("resnet_out_scale_factor", [one], feature: "resnet_out_scale_factor ≠ 1")
        try c.requireDefault("resnet_time_scale_shift", [.string("default")], feature: "scale-shift time conditioning")
        try c.requireDefault("resnet_skip_time_act", [f], feature: "resnet_skip_time_act")
        try c.requireDefault("time_embedding_type", [.string("positional")], feature: "Fourier time embeddings")
        for key in ["time_embedding_dim", "time_embedding_act_fn", "timestep_post_act", "time_cond_proj_dim",
                    "class_embed_type", "num_class_embeds", "addition_embed_type", "encoder_hid_dim",
                    "encoder_hid_dim_type", "cross_attention_norm", "mid_block_only_cross_attention"] {
            try c.requireDefault(key, [null], feature: key)
        }
        try c.requireDefault("class_embeddings_concat", [f], feature: "class_embeddings_concat")
        try c.requireDefault("attention_type", [.string("default")], feature: "gated (GLIGEN) attention")
        try c.requireDefault("conv_in_kernel", [.number(3)], feature: "a conv_in kernel other than 3")
        try c.requireDefault("conv_out_kernel", [.number(3)], feature: "a conv_out kernel other than 3")
        try validate()
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: ConfigKey.self)
        func put<T: Encodable>(_ key: String, _ v: T) throws { try c.encode(v, forKey: ConfigKey(key)) }
        try put("_class_name", "UNet2DConditionModel")
        try put("sample_size", sampleSize)
        try put("in_channels", inChannels)
        try put("out_channels", outChannels)
        try put("flip_sin_to_cos", flipSinToCos)
        try put("freq_shift", freqShift)
        try put("down_block_types", downBlockTypes)
        try put("mid_block_type", Self.midBlockType)
        try put("up_block_types", upBlockTypes)
        try put("block_out_channels", blockOutChannels)
        // One number when all levels agree, as diffusers writes it.
        if Set(layersPerBlock).count == 1 { try put("layers_per_block", layersPerBlock[0]) } else { try put("layers_per_block", layersPerBlock) }
        if Set(attentionHeadDim).count == 1 { try put("attention_head_dim", attentionHeadDim[0]) } else { try put("attention_head_dim", attentionHeadDim) }
        try put("cross_attention_dim", crossAttentionDim)
        try put("norm_num_groups", normNumGroups)
        try put("norm_eps", normEps)
        try put("downsample_padding", downsamplePadding)
        try put("act_fn", "silu")
        try put("time_embedding_type", "positional")
        try put("use_linear_projection", false)
    }
}
