/// Every knob of `t2ialign pretrain`, recorded next to the checkpoint (`config.json`) so a run is reproducible.
public struct PretrainingConfig: Codable, Sendable, Equatable {
    public var steps = 20_000
    public var batchSize = 16
    public var learningRate = 5e-4
    /// constant, constant_with_warmup or cosine (decays to 0 at `steps`).
    public var lrSchedule = "cosine"
    public var warmupSteps = 500
    public var weightDecay = 0.01
    public var maxGradNorm = 1.0
    /// EMA decay of the shipped weights (0 disables the EMA; the raw weights are then saved).
    public var emaDecay = 0.999
    /// Probability of replacing a caption by "" (the null condition of classifier-free guidance).
    public var promptDropout = 0.1
    public var seed: UInt64 = 0
    public var checkpointEvery = 500
    /// Whether the text encoder is trained jointly (it starts from random weights in a from-scratch model).
    public var trainTextEncoder = true
    /// Offset noise (diffusers' `--noise_offset`): ε gets `noiseOffset · n` with n ~ N(0, 1) per image and
    /// channel, so the network must also predict image-wide colour shifts. nil or 0: plain ε.
    public var noiseOffset: Double?
    /// The prediction type the run trains (`epsilon`, `v_prediction`) when it sets one; nil: the model's own.
    public var predictionType: String?
    /// The model folder the run started from (continued pretraining); nil: a fresh model of the preset.
    public var initModel: String?

    public init() {}

    public func validate() throws {
        func bad(_ flag: String, _ why: String) -> TrainingConfigError { .invalid(flag: flag, reason: why) }
        guard steps > 0 else { throw bad("--steps", "must be positive") }
        guard batchSize > 0 else { throw bad("--batch-size", "must be positive") }
        guard learningRate > 0, learningRate.isFinite else { throw bad("--lr", "must be a positive number") }
        guard warmupSteps >= 0 else { throw bad("--warmup", "must not be negative") }
        guard weightDecay >= 0 else { throw bad("--weight-decay", "must not be negative") }
        guard maxGradNorm > 0 else { throw bad("--max-grad-norm", "must be positive") }
        guard (0..<1).contains(emaDecay) else { throw bad("--ema-decay", "must be in [0, 1); 0 disables the EMA") }
        guard (0...1).contains(promptDropout) else { throw bad("--prompt-dropout", "must be a probability in [0, 1]") }
        guard checkpointEvery > 0 else { throw bad("--checkpoint-every", "must be positive") }
        if let noiseOffset { guard noiseOffset >= 0, noiseOffset.isFinite else { throw bad("--noise-offset", "must be 0 or more") } }
    }
}

public enum TrainingConfigError: Error, CustomStringConvertible {
    case invalid(flag: String, reason: String)
    case resumeMismatch(String)

    public var description: String {
        switch self {
        case .invalid(let flag, let reason): return "\(flag) \(reason)"
        case .resumeMismatch(let why): return why
        }
    }
}
