import Autograd
import Kernels
import NN

/// The CLIP-style text encoder (transformers' `CLIPTextModel`): token + learned position embeddings,
/// pre-norm transformer layers with a causal mask, a final layer norm. Its output, `last_hidden_state`
/// [B, L, hidden], is the U-Net's context. Parameter names carry transformers' `text_model.` prefix
/// (`text_model.encoder.layers.0.self_attn.q_proj.weight`, …).
public final class TextEncoder: Module {
    public static let prefix = "text_model."

    public let config: TextEncoderConfig
    public let tokenEmbedding: Embedding
    public let positionEmbedding: Embedding
    public let layers: [TextEncoderLayer]
    public let finalLayerNorm: LayerNorm

    /// A network initialised as transformers initialises a new CLIPTextModel, drawn from `rng`.
    public init(config: TextEncoderConfig, rng: inout RNG) throws {
        try config.validate()
        self.config = config
        tokenEmbedding = Embedding(config.vocabSize, config.hiddenSize, std: 0.02, rng: &rng)
        positionEmbedding = Embedding(config.maxPositionEmbeddings, config.hiddenSize, std: 0.02, rng: &rng)
        var layers: [TextEncoderLayer] = []
        for _ in 0..<config.numHiddenLayers { layers.append(TextEncoderLayer(config: config, rng: &rng)) }
        self.layers = layers
        finalLayerNorm = LayerNorm(config.hiddenSize, eps: config.layerNormEps)
    }

    public var children: [(String, any Module)] {
        var c: [(String, any Module)] = [("text_model.embeddings.token_embedding", tokenEmbedding),
                                         ("text_model.embeddings.position_embedding", positionEmbedding)]
        c += layers.enumerated().map { ("text_model.encoder.layers.\($0.offset)", $0.element) }
        c.append(("text_model.final_layer_norm", finalLayerNorm))
        return c
    }

    /// last_hidden_state [B, L, hidden] for a batch of L ≤ max_position_embeddings tokens. No padding
    /// mask, as the reference pipeline calls CLIPTextModel without one: PAD tokens are ordinary tokens.
    public func callAsFunction(_ tokens: TokenBatch) throws -> Tensor {
        guard tokens.length >= 1, tokens.length <= config.maxPositionEmbeddings else {
            throw TextEncoderError.sequenceLength(tokens.length, max: config.maxPositionEmbeddings)
        }
        guard tokens.count >= 1 else { throw TextEncoderError.emptyBatch }
        if let i = tokens.ids.firstIndex(where: { Int($0) >= config.vocabSize }) {
            throw TextEncoderError.tokenOutOfVocabulary(tokens.ids[i], vocabularySize: config.vocabSize)
        }
        let length = tokens.length
        var h = tokenEmbedding(tokens.ids, shape: tokens.shape)
            + positionEmbedding(Array(0..<Int32(length)), shape: [1, length])
        for layer in layers { h = layer(h) }
        return finalLayerNorm(h)
    }

    /// Loads a transformers state dict with or without the `text_model.` prefix (transformers 5 saves
    /// CLIPTextModel without it, earlier versions and published checkpoints with it).
    public func load(transformersStateDict dict: [String: Tensor], strict: Bool = true) throws {
        let prefixed = dict.keys.contains { $0.hasPrefix(Self.prefix) }
        let named = prefixed ? dict : Dictionary(uniqueKeysWithValues: dict.map { (Self.prefix + $0.key, $0.value) })
        // transformers keeps the position-id buffer in some versions; it is not a parameter.
        try load(stateDict: named.filter { !$0.key.hasSuffix("embeddings.position_ids") }, strict: strict)
    }
}

public enum TextEncoderError: Error, CustomStringConvertible, Equatable {
    case sequenceLength(Int, max: Int)
    case emptyBatch
    case tokenOutOfVocabulary(Int32, vocabularySize: Int)

    public var description: String {
        switch self {
        case .sequenceLength(let n, let m):
            return "text encoder got \(n) tokens per prompt; it takes 1…\(m) (max_position_embeddings): tokenize with ByteTokenizer(length: \(m))"
        case .emptyBatch:
            return "text encoder got no prompts; pass at least one"
        case .tokenOutOfVocabulary(let id, let v):
            return "token id \(id) is outside the text encoder's vocabulary of \(v); tokenize with ByteTokenizer"
        }
    }
}
