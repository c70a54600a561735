/// Every knob of `t2ialign user-encoder train`, recorded as config.json in the run's training state.
public struct UserEncoderTrainingConfig: Codable, Sendable, Equatable {
    public var encoder = UserEncoderConfig()
    /// Optimizer steps; each is one episode batch.
    public var steps = 1500
    /// U: users per episode batch (distinct, drawn uniformly over users, not pairs, so heavy labellers
    /// such as the population user do not dominate).
    public var usersPerEpisode = 8
    /// Q: query pairs per user, disjoint from its K support pairs.
    public var queries = 8
    public var learningRate = 1e-3
    public var lrSchedule = "cosine"
    public var warmupSteps = 50
    public var weightDecay = 1e-4
    public var maxGradNorm = 1.0
    public var seed: UInt64 = 0
    public var checkpointEvery = 250
    /// Few-shot accuracy on the training users' validation pairs every N steps (0 = only at the end).
    public var evalEvery = 250
    /// Support draws averaged per user when measuring accuracy.
    public var evalDraws = 5

    public init() {}

    public func validate() throws {
        func bad(_ flag: String, _ why: String) -> PersonalizationError { .invalidSetting(flag: flag, reason: why) }
        try encoder.validate()
        guard steps > 0 else { throw bad("--steps", "must be positive") }
        guard usersPerEpisode > 0 else { throw bad("--users-per-episode", "must be positive") }
        guard queries > 0 else { throw bad("--queries", "must be positive") }
        guard learningRate > 0, learningRate.isFinite else { throw bad("--lr", "must be a positive number") }
        guard warmupSteps >= 0 else { throw bad("--warmup", "must not be negative") }
        guard weightDecay >= 0 else { throw bad("--weight-decay", "must not be negative") }
        guard maxGradNorm > 0 else { throw bad("--max-grad-norm", "must be positive") }
        guard checkpointEvery > 0 else { throw bad("--checkpoint-every", "must be positive") }
        guard evalEvery >= 0 else { throw bad("--eval-every", "must not be negative") }
        guard evalDraws > 0 else { throw bad("--eval-draws", "must be positive") }
    }
}
