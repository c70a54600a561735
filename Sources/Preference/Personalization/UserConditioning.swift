import Autograd
import Diffusion
import Foundation

/// A chosen user (or mixture) turned into the `extraTokens` hook of `TextToImageModel.generate` and the
/// `Evaluator`: u from K pairs through the model's frozen user model, then its user projection's M
/// tokens, appended after the text tokens of every conditional row.
public struct UserConditioning {
    public let parts: PersonalizedModelParts
    /// u [embedding_dim].
    public let embedding: Tensor
    /// [1, M, D], computed once.
    public let tokens: Tensor
    public let description: String
    /// A short name for reports and model names ("user 41", "users 41:0.5,44:0.5", "no user").
    public let label: String

    public init(parts: PersonalizedModelParts, embedding: Tensor, description: String, label: String) throws {
        guard embedding.shape == [parts.encoder.config.embeddingDim] else {
            throw PersonalizationError.input("user embedding has shape \(embedding.shape), expected [\(parts.encoder.config.embeddingDim)]")
        }
        self.parts = parts
        self.embedding = embedding
        self.description = description + "; u = [" + embedding.toArray().map { String(format: "%.2f", $0) }.joined(separator: ", ") + "]"
        self.label = label
        tokens = try GradMode.withoutGrad { try parts.projection.tokens(embedding.reshaped([1, embedding.count])) }
    }

    /// The embedding of one user: the MAP weights from their example pairs — the K most informative of
    /// them when `shots` is given (a dataset user's pool), else all of them — whitened by the prior.
    public static func embedding(_ examples: UserExamples, encoder: UserEncoder, shots: Int? = nil) throws -> Tensor {
        let prior = try encoder.prior()
        let features = try examples.features(encoder: encoder)
        let chosen = shots.map { k in prior.informativeOrder(features).prefix(k).map { features[$0] } } ?? features
        let u = prior.embedding(weights: prior.mapEstimate(chosen))
        return Tensor(shape: [u.count], data: u)
    }

    /// Σ weight·u over users (weights summing to 1).
    public static func mixed(_ embeddings: [(embedding: Tensor, weight: Double)]) throws -> Tensor {
        guard let first = embeddings.first else { throw PersonalizationError.input("a user mixture needs at least one user") }
        let out = Tensor(zeros: first.embedding.shape)
        for (e, w) in embeddings {
            guard e.shape == first.embedding.shape else { throw PersonalizationError.input("user embeddings of different shapes cannot be mixed") }
            for i in 0..<out.count { out.data[i] += Float(w) * e.data[i] }
        }
        return out
    }

    /// [rows, M, D]: the same tokens on every row.
    public func tokens(rows: Int) -> Tensor {
        concat(Array(repeating: tokens, count: max(rows, 1)), axis: 0)
    }

    /// The hook for `model`'s `generate(extraTokens:)` / `Evaluator.extraTokensA/B`. Attaches the projection's
    /// decoupled branches to `model`'s U-Net first, so the tokens cannot reach a network that would misread them.
    public func extraTokens(for model: TextToImageModel) throws -> (Range<Int>) throws -> Tensor? {
        try parts.projection.attach(to: model)
        let me = self
        return { rows in me.tokens(rows: rows.count) }
    }
}

/// Which user a generation is conditioned on (the `--user*` options of `sample` and `eval`).
public enum UserSource: Equatable, Sendable {
    /// No user: u = 0, i.e. the all-zero tokens a dropped embedding gives in training.
    case none
    /// The first K labelled non-tie pairs of a JSONL file in the dataset row format.
    case examples(file: String)
    /// The K most informative pairs of this user in a dataset's splits (label-free choice, then their labels).
    case user(Int)
    /// A convex mixture of users' embeddings.
    case mix(UserMix)
}

extension UserConditioning {
    /// Builds the conditioning of a personalized model for `source`. `data` and `splits` locate users'
    /// pairs (the first split holding the user is used); `shots` overrides the model's K.
    public static func make(parts: PersonalizedModelParts, source: UserSource, data: String,
                            splits: [String] = ["heldout_train", "train"], shots: Int? = nil) throws -> UserConditioning {
        let k = shots ?? parts.projection.config.shots
        let s = parts.encoder.config.sampleSize
        func user(_ id: Int) throws -> Tensor {
            try embedding(UserExamples.fromDataset(directory: data, splits: splits, user: id, shots: k, resolution: s),
                          encoder: parts.encoder, shots: k)
        }
        switch source {
        case .none:
            return try UserConditioning(parts: parts, embedding: Tensor(zeros: [parts.encoder.config.embeddingDim]),
                                        description: "no user (zero user tokens)", label: "no user")
        case .examples(let file):
            let examples = try UserExamples.read(file: file, shots: k, resolution: s)
            return try UserConditioning(parts: parts, embedding: embedding(examples, encoder: parts.encoder),
                                        description: "the user of \(file) (K = \(k))",
                                        label: "user of \((file as NSString).lastPathComponent)")
        case .user(let id):
            return try UserConditioning(parts: parts, embedding: user(id), description: "user \(id) (K = \(k) pairs from \(data))",
                                        label: "user \(id)")
        case .mix(let mix):
            let parts2 = try mix.components.map { (embedding: try user($0.user), weight: $0.weight) }
            return try UserConditioning(parts: parts, embedding: mixed(parts2), description: "users \(mix.description) (K = \(k) each)",
                                        label: "users \(mix.description)")
        }
    }
}
