import Autograd
import Diffusion
import Files
import Foundation
import Kernels
import NN

/// How the U-Net reads the user tokens.
public enum UserTokenInjection: String, Codable, Sendable, CaseIterable {
    /// Appended after the text tokens, read through the text's own cross-attention keys and values.
    case appended
    /// A decoupled cross-attention branch per layer (IP-Adapter style, `DecoupledCrossAttention`) with its own
    /// keys and values, initialised from the text's and trained with the projection.
    case decoupled
}

/// How a user embedding becomes conditioning tokens (`user_projection/config.json`).
public struct UserProjectionConfig: Codable, Sendable, Equatable {
    /// Dimension of u (the user encoder's embedding_dim).
    public var embeddingDim: Int
    /// M: tokens appended after the text tokens.
    public var numTokens: Int
    /// The U-Net's cross_attention_dim (the text encoder's hidden size).
    public var crossAttentionDim: Int
    /// K the model was trained with (support pairs per embedding).
    public var shots: Int
    /// p_udrop used in training (recorded for the model card; inference never drops).
    public var userDropout: Double
    /// How the tokens reach the U-Net (folders written before this field existed used `appended`).
    public var injection: UserTokenInjection
    /// `decoupled`: the inner (key/value) width of each cross-attention layer's branch, in the U-Net's
    /// `crossAttentionLayers` order; empty for `appended`.
    public var branchInnerDims: [Int]

    public init(embeddingDim: Int, numTokens: Int = 4, crossAttentionDim: Int, shots: Int = 4, userDropout: Double = 0.1,
                injection: UserTokenInjection = .appended, branchInnerDims: [Int] = []) {
        self.embeddingDim = embeddingDim
        self.numTokens = numTokens
        self.crossAttentionDim = crossAttentionDim
        self.shots = shots
        self.userDropout = userDropout
        self.injection = injection
        self.branchInnerDims = branchInnerDims
    }

    enum CodingKeys: String, CodingKey {
        case embeddingDim = "embedding_dim", numTokens = "num_tokens", crossAttentionDim = "cross_attention_dim"
        case shots, userDropout = "user_dropout", injection, branchInnerDims = "branch_inner_dims"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(embeddingDim: try c.decode(Int.self, forKey: .embeddingDim), numTokens: try c.decode(Int.self, forKey: .numTokens),
                  crossAttentionDim: try c.decode(Int.self, forKey: .crossAttentionDim), shots: try c.decode(Int.self, forKey: .shots),
                  userDropout: try c.decode(Double.self, forKey: .userDropout),
                  injection: try c.decodeIfPresent(UserTokenInjection.self, forKey: .injection) ?? .appended,
                  branchInnerDims: try c.decodeIfPresent([Int].self, forKey: .branchInnerDims) ?? [])
    }

    public func validate() throws {
        func bad(_ field: String, _ why: String) -> PersonalizationError { .invalidSetting(flag: field, reason: why) }
        guard embeddingDim > 0 else { throw bad("embedding_dim", "must be positive") }
        guard numTokens > 0 else { throw bad("num_tokens (--user-tokens)", "must be at least 1") }
        guard crossAttentionDim > 0 else { throw bad("cross_attention_dim", "must be positive") }
        guard shots > 0 else { throw bad("shots (--user-shots)", "must be at least 1") }
        guard (0...1).contains(userDropout) else { throw bad("user_dropout (--user-dropout)", "must be in [0, 1]") }
        switch injection {
        case .appended: guard branchInnerDims.isEmpty else { throw bad("branch_inner_dims", "must be empty for appended user tokens") }
        case .decoupled:
            guard !branchInnerDims.isEmpty, branchInnerDims.allSatisfy({ $0 > 0 }) else {
                throw bad("branch_inner_dims", "decoupled user tokens need one positive width per cross-attention layer")
            }
        }
    }
}

/// u [B, E] → M extra cross-attention tokens [B, M, D] through one bias-free Linear (`weight` [M·D, E]), plus,
/// for `decoupled` injection, the per-layer cross-attention branches that read them (`attn2.<i>.to_k/to_v`).
///
/// No bias on purpose: u = 0 (no user, or a dropped embedding) gives exactly zero tokens — the same
/// null tokens `generate()` pads the unconditional context with — and tokens are linear in u, so mixing
/// users' embeddings mixes their tokens.
public final class UserProjection: Module {
    public let config: UserProjectionConfig
    public let weight: Tensor
    /// `decoupled` only: one branch per cross-attention layer of the U-Net.
    public let branches: [DecoupledCrossAttention]

    /// Zero-initialised (as ControlNet's zero convolutions and adapter branches are): every user starts with
    /// the no-user tokens, so the pretrained U-Net starts exactly at its unconditioned behaviour, and the
    /// projection only grows in directions the preference gradient consistently asks for. (The gradient
    /// still reaches it: zero tokens have zero keys and values, but the attention weight on them is not zero.)
    public init(config: UserProjectionConfig) throws {
        try config.validate()
        self.config = config
        weight = Tensor(zeros: [config.numTokens * config.crossAttentionDim, config.embeddingDim])
        weight.requiresGrad = true  // a parameter, as the layers' initialisers make them
        var rng = RNG(seed: 0)  // placeholders: `forUNet` copies the text's K/V into them, `load` reads them
        branches = config.branchInnerDims.map {
            DecoupledCrossAttention(contextDim: config.crossAttentionDim, innerDim: $0, tokenCount: config.numTokens, rng: &rng)
        }
    }

    /// A new projection for `unet`; decoupled branches start as copies of each layer's text keys and values
    /// (IP-Adapter's initialisation), so together with the zero projection the network starts unchanged.
    public static func forUNet(_ unet: UNet2DConditionModel, embeddingDim: Int, numTokens: Int, shots: Int,
                               userDropout: Double, injection: UserTokenInjection) throws -> UserProjection {
        let layers = unet.crossAttentionLayers
        let projection = try UserProjection(config: UserProjectionConfig(
            embeddingDim: embeddingDim, numTokens: numTokens, crossAttentionDim: unet.config.crossAttentionDim, shots: shots,
            userDropout: userDropout, injection: injection,
            branchInnerDims: injection == .decoupled ? layers.map(\.toK.outFeatures) : []))
        for (branch, layer) in zip(projection.branches, layers) { try branch.copyKeyValue(from: layer) }
        return projection
    }

    /// Makes `model`'s U-Net read these tokens: attaches the decoupled branches (nothing to do for appended
    /// tokens). Every context the U-Net sees afterwards must carry the M user tokens (zeros for no user).
    public func attach(to model: TextToImageModel) throws {
        guard config.injection == .decoupled else { return }
        guard model.unet.config.crossAttentionDim == config.crossAttentionDim else {
            throw PersonalizationError.input("the user projection makes \(config.crossAttentionDim)-wide tokens but the U-Net's cross_attention_dim is \(model.unet.config.crossAttentionDim)")
        }
        do {
            try model.unet.attach(branches, textLength: model.textEncoder.config.maxPositionEmbeddings)
        } catch let e as UNetInputError {
            throw PersonalizationError.input("the user projection does not fit this U-Net: \(e.description)")
        }
    }

    public var ownParameters: [(String, Tensor)] { [("weight", weight)] }
    public var children: [(String, any Module)] { branches.enumerated().map { ("attn2.\($0.offset)", $0.element) } }

    /// [B, E] embeddings → [B, M, D] tokens.
    public func tokens(_ embeddings: Tensor) throws -> Tensor {
        guard embeddings.rank == 2, embeddings.shape[1] == config.embeddingDim, embeddings.shape[0] >= 1 else {
            throw PersonalizationError.input("user embeddings have shape \(embeddings.shape); pass [B, \(config.embeddingDim)] (the user encoder's embedding_dim)")
        }
        return linear(embeddings, weight: weight).reshaped([embeddings.shape[0], config.numTokens, config.crossAttentionDim])
    }

    /// Tokens with embedding dropout: rows where `dropped` is true get u = 0, hence all-zero tokens.
    public func tokens(_ embeddings: Tensor, dropped: [Bool]) throws -> Tensor {
        guard dropped.count == embeddings.shape.first else {
            throw PersonalizationError.input("\(dropped.count) dropout flags for \(embeddings.shape.first ?? 0) embeddings")
        }
        guard dropped.contains(true) else { return try tokens(embeddings) }
        let keep = Tensor(shape: [dropped.count, 1], data: dropped.map { $0 ? 0 : 1 })
        return try tokens(embeddings * keep)
    }

    /// Which of `count` rows lose their embedding (each with probability `probability`), drawn from `rng`.
    public static func dropMask(count: Int, probability: Double, rng: inout RNG) -> [Bool] {
        (0..<count).map { _ in rng.nextBool(probability: probability) }
    }

    // MARK: Folder

    /// Writes `DIR/config.json` and `DIR/model.safetensors`.
    public func save(to directory: String) throws {
        let dir = URL(fileURLWithPath: directory)
        try AtomicFile.write(JSONFormat.pretty.encode(config), to: dir.appendingPathComponent(UserEncoder.configFile).path)
        try SafeTensors.write(stateDict(), metadata: ["format": "pt", "model": "t2ialign.UserProjection"],
                              to: dir.appendingPathComponent(UserEncoder.weightsFile).path)
    }

    public static func load(from directory: String) throws -> UserProjection {
        let dir = URL(fileURLWithPath: directory)
        let configPath = dir.appendingPathComponent(UserEncoder.configFile).path
        guard let data = FileManager.default.contents(atPath: configPath) else {
            throw PersonalizationError.folder(path: configPath, reason: "missing; the model folder was not trained with --personalized")
        }
        let config: UserProjectionConfig
        do { config = try JSONDecoder().decode(UserProjectionConfig.self, from: data) } catch {
            throw PersonalizationError.folder(path: configPath, reason: "not a user projection config (\(error))")
        }
        let projection: UserProjection
        do { projection = try UserProjection(config: config) } catch let e as PersonalizationError {
            throw PersonalizationError.folder(path: configPath, reason: e.description)
        }
        let weights = dir.appendingPathComponent(UserEncoder.weightsFile).path
        guard FileManager.default.fileExists(atPath: weights) else {
            throw PersonalizationError.folder(path: weights, reason: "missing; the model folder is incomplete")
        }
        do {
            try projection.load(stateDict: SafeTensors.read(weights).tensors)
        } catch let e as ModuleError {
            throw PersonalizationError.folder(path: weights, reason: e.description)
        }
        return projection
    }
}
