import Foundation

/// The architecture of the CLIP-style text encoder, read from and written as transformers'
/// `CLIPTextConfig` config.json keys. Presets follow ../shared/bench/models.py (`make_text_encoder`).
public struct TextEncoderConfig: Codable, Equatable, Sendable {
    /// The MLP activation (transformers' `hidden_act`).
    public enum Activation: String, Codable, Sendable {
        /// x·σ(1.702x), CLIP's default.
        case quickGELU = "quick_gelu"
        /// The exact (erf) GELU.
        case gelu
    }

    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var maxPositionEmbeddings: Int
    public var layerNormEps: Float
    public var hiddenAct: Activation
    public var bosTokenId: Int
    public var eosTokenId: Int
    public var padTokenId: Int

    public init(vocabSize: Int = ByteTokenizer.vocabularySize, hiddenSize: Int = 128, intermediateSize: Int = 512,
                numHiddenLayers: Int, numAttentionHeads: Int = 4,
                maxPositionEmbeddings: Int = ByteTokenizer.defaultLength, layerNormEps: Float = 1e-5,
                hiddenAct: Activation = .quickGELU, bosTokenId: Int = Int(ByteTokenizer.bos),
                eosTokenId: Int = Int(ByteTokenizer.eos), padTokenId: Int = Int(ByteTokenizer.pad)) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.layerNormEps = layerNormEps
        self.hiddenAct = hiddenAct
        self.bosTokenId = bosTokenId
        self.eosTokenId = eosTokenId
        self.padTokenId = padTokenId
    }

    public static let tiny = TextEncoderConfig(numHiddenLayers: 2)
    public static let small = TextEncoderConfig(numHiddenLayers: 3)
    public static let medium = TextEncoderConfig(numHiddenLayers: 4)

    public static let presets: [String: TextEncoderConfig] = ["tiny": tiny, "small": small, "medium": medium]

    public static func preset(named name: String) throws -> TextEncoderConfig {
        guard let c = presets[name] else { throw ModelConfigError.unknownPreset(name, known: presets.keys.sorted()) }
        return c
    }

    public var headDim: Int { hiddenSize / numAttentionHeads }

    public func validate() throws {
        func bad(_ key: String, _ reason: String) -> ModelConfigError { .invalid(key: key, reason: reason) }
        guard vocabSize > 0 else { throw bad("vocab_size", "must be positive") }
        guard hiddenSize > 0 else { throw bad("hidden_size", "must be positive") }
        guard intermediateSize > 0 else { throw bad("intermediate_size", "must be positive") }
        guard numHiddenLayers >= 0 else { throw bad("num_hidden_layers", "must not be negative") }
        guard numAttentionHeads > 0, hiddenSize % numAttentionHeads == 0 else {
            throw bad("num_attention_heads", "(\(numAttentionHeads)) must divide hidden_size \(hiddenSize)")
        }
        guard maxPositionEmbeddings > 0 else { throw bad("max_position_embeddings", "must be positive") }
        guard layerNormEps > 0 else { throw bad("layer_norm_eps", "must be positive") }
    }

    public static func load(from path: String) throws -> TextEncoderConfig {
        try ConfigFile.load(TextEncoderConfig.self, from: path)
    }

    /// The config as transformers' config.json (pretty, sorted keys).
    public func jsonData() throws -> Data { try ConfigFile.encode(self) }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: ConfigKey.self)
        let modelType: String? = try c.value("model_type", default: nil)
        if let modelType, modelType != "clip_text_model" {
            throw ModelConfigError.unsupported(key: "model_type", value: "\"\(modelType)\"",
                                               hint: "expected a clip_text_model config (a full CLIP config keeps it under \"text_config\")")
        }
        vocabSize = try c.value("vocab_size", default: 49408)
        hiddenSize = try c.value("hidden_size", default: 512)
        intermediateSize = try c.value("intermediate_size", default: 2048)
        numHiddenLayers = try c.value("num_hidden_layers", default: 12)
        numAttentionHeads = try c.value("num_attention_heads", default: 8)
        maxPositionEmbeddings = try c.value("max_position_embeddings", default: 77)
        layerNormEps = try c.value("layer_norm_eps", default: 1e-5)
        let act: String = try c.value("hidden_act", default: "quick_gelu")
        guard let a = Activation(rawValue: act) else {
            throw ModelConfigError.unsupported(key: "hidden_act", value: "\"\(act)\"", hint: "use \"quick_gelu\" or \"gelu\"")
        }
        hiddenAct = a
        bosTokenId = try c.value("bos_token_id", default: 49406)
        eosTokenId = try c.value("eos_token_id", default: 49407)
        padTokenId = try c.value("pad_token_id", default: 1)
        try c.requireDefault("attention_dropout", [.number(0)], feature: "attention dropout")
        try c.requireDefault("dropout", [.number(0)], feature: "dropout")
        try validate()
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: ConfigKey.self)
        func put<T: Encodable>(_ key: String, _ v: T) throws { try c.encode(v, forKey: ConfigKey(key)) }
        try put("architectures", ["CLIPTextModel"])
        try put("model_type", "clip_text_model")
        try put("vocab_size", vocabSize)
        try put("hidden_size", hiddenSize)
        try put("intermediate_size", intermediateSize)
        try put("num_hidden_layers", numHiddenLayers)
        try put("num_attention_heads", numAttentionHeads)
        try put("max_position_embeddings", maxPositionEmbeddings)
        try put("layer_norm_eps", layerNormEps)
        try put("hidden_act", hiddenAct)
        try put("bos_token_id", bosTokenId)
        try put("eos_token_id", eosTokenId)
        try put("pad_token_id", padTokenId)
        try put("attention_dropout", 0.0)
        try put("dropout", 0.0)
    }
}
