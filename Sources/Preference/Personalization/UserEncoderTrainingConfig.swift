/// Every knob of `t2ialign user-encoder train`, recorded as training_config.json and in the checkpoint.
public struct UserEncoderTrainingConfig: Codable, Sendable, Equatable {
    public var encoder = UserEncoderConfig()
    /// The frozen population scorer folder (copied into the encoder folder as scorer/).
    public var scorer = "Models/shapes-scorer"
    /// Training users (nil: every personal training user of the dataset's users.json, else every user).
    public var users: [Int]?
    /// Passes over the training users' pairs. ψ's loss stays flat for the first few epochs before the
    /// taste features emerge (docs/PERSONALIZATION.md §1), so budgets are counted in epochs.
    public var epochs = 30
    public var batchSize = 256
    /// Adam (no weight decay) on ψ, α and the per-user table, constant rate.
    public var learningRate = 3e-3
    /// Standard deviation of the per-user table's initial weights (non-zero, so ψ gets a gradient at once).
    public var tableInitStd = 0.5
    /// λ of λ·mean over users of ‖w_u‖².
    public var tableL2 = 1e-4
    public var seed: UInt64 = 0
    /// Checkpoint every N optimizer steps (and at the end).
    public var checkpointEvery = 200
    /// Random support draws per held-out user in the evaluation.
    public var evalDraws = 20

    public init() {}

    public func validate() throws {
        func bad(_ flag: String, _ why: String) -> PersonalizationError { .invalidSetting(flag: flag, reason: why) }
        try encoder.validate()
        guard !scorer.isEmpty else { throw bad("--scorer", "must name a trained scorer folder (`t2ialign scorer train`)") }
        guard epochs > 0 else { throw bad("--epochs", "must be positive") }
        guard batchSize > 0 else { throw bad("--batch-size", "must be positive") }
        guard learningRate > 0, learningRate.isFinite else { throw bad("--lr", "must be a positive number") }
        guard tableInitStd >= 0, tableInitStd.isFinite else { throw bad("--table-init-std", "must not be negative") }
        guard tableL2 >= 0, tableL2.isFinite else { throw bad("--table-l2", "must not be negative") }
        guard checkpointEvery > 0 else { throw bad("--checkpoint-every", "must be positive") }
        guard evalDraws > 0 else { throw bad("--eval-draws", "must be positive") }
        if let users { guard users.count >= 2 else { throw bad("--users", "must list at least 2 training users (their weights give the prior)") } }
    }
}
