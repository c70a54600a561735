/// How a pair's K support pairs are chosen among the other pairs of its user.
public enum UserSupportSelection: String, Codable, Sendable, CaseIterable {
    /// The K with the largest label-free information about w (`UserPrior.informativeOrder`) — what a new
    /// user labels at sampling time (`--user ID`), so training sees the embeddings deployment gives.
    case informative
    /// K drawn anew at every visit (more varied, noisier embeddings).
    case random
    /// Every other pair of the user: the training users' embeddings as exact as their data allows, so the
    /// generator learns a clean map from u to taste; a new user's K-pair estimate is then a noisier point of it.
    case all
}

/// The personalized-DPO knobs of `t2ialign train --personalized` (recorded in the run's config.json).
public struct PersonalizationSettings: Codable, Sendable, Equatable {
    /// The trained user encoder folder (`t2ialign user-encoder train --out DIR`); frozen during DPO and
    /// copied into the model folder as user_encoder/.
    public var userEncoder: String
    /// M: user tokens (after the text tokens in the context).
    public var tokens = 4
    /// How the U-Net reads them: their own decoupled cross-attention branch, or the text's (appended).
    public var injection = UserTokenInjection.decoupled
    /// K: pairs per user embedding (nil: the encoder's `shots`).
    public var shots: Int?
    /// Which K other pairs of its user give a pair's embedding.
    public var support = UserSupportSelection.informative
    /// p_udrop: probability that a pair's user embedding is zeroed (no user tokens' content).
    public var userDropout = 0.1
    /// Train only on the pairs whose predicted preference depends on who labelled them: those where the user
    /// model's P(winner-side ≻ other | the user's weights from all their pairs) differs from P(… | the average
    /// user's weights μ) by at least this much (docs/PERSONALIZATION.md §5.1: without it the generator does not
    /// learn to read u). 0: every pair.
    public var tasteMargin = 0.1
    /// Peak learning rate of the user projection, which starts from scratch while the U-Net is fine-tuned
    /// (it follows the same schedule as the U-Net's).
    public var projectionLearningRate = 1e-3

    public init(userEncoder: String, tokens: Int = 4, injection: UserTokenInjection = .decoupled, shots: Int? = nil,
                support: UserSupportSelection = .informative, userDropout: Double = 0.1, projectionLearningRate: Double = 1e-3) {
        self.userEncoder = userEncoder
        self.tokens = tokens
        self.injection = injection
        self.shots = shots
        self.support = support
        self.userDropout = userDropout
        self.projectionLearningRate = projectionLearningRate
    }

    public func validate() throws {
        func bad(_ flag: String, _ why: String) -> PersonalizationError { .invalidSetting(flag: flag, reason: why) }
        guard !userEncoder.isEmpty else { throw bad("--user-encoder", "must name a trained user encoder folder") }
        guard tokens >= 1 else { throw bad("--user-tokens", "must be at least 1") }
        if let k = shots { guard k >= 1 else { throw bad("--user-shots", "must be at least 1") } }
        guard (0...1).contains(userDropout) else { throw bad("--user-dropout", "must be in [0, 1]") }
        guard tasteMargin >= 0, tasteMargin < 1 else { throw bad("--user-taste-pairs", "must be a probability margin in [0, 1), e.g. 0.1 (0: every pair)") }
        guard projectionLearningRate > 0, projectionLearningRate.isFinite else {
            throw bad("--user-projection-lr", "must be a positive number")
        }
    }
}
