import Diffusion
import NN

/// Every knob of `t2ialign scorer train`, recorded as the run's config.json and in its checkpoint, so a run
/// is reproducible and resumes only with the same settings (the step budget may grow).
public struct ScorerTrainingConfig: Codable, Sendable, Equatable {
    public var steps = 3000
    /// Pairs per step (the image tower sees twice as many images).
    public var batchSize = 64
    public var learningRate = 1e-3
    /// constant, constant_with_warmup, linear or cosine (diffusers' names).
    public var lrSchedule = "cosine"
    public var warmupSteps = 100
    public var weightDecay = 0.01
    public var maxGradNorm = 1.0
    /// EMA of the weights that are saved (0 = off: the raw weights are saved).
    public var emaDecay = 0.0
    public var seed: UInt64 = 0
    public var checkpointEvery = 250
    /// Every this many steps, log the agreement with the validation split's non-tie labels (0 = never).
    public var validateEvery = 0
    /// Train only on pairs judged by these users (nil: every user). Default: the population user 0.
    public var users: [Int]? = [0]
    /// Random horizontal flips of both images of a pair, with "left" and "right" swapped in its prompt so
    /// position words stay true.
    public var flip = true
    /// Weight of the CLIP-style contrastive loss between images and their own captions (caption_0/1),
    /// added to the pair loss when the data has them (0 = off). See `CaptionContrastiveLoss`.
    public var captionLossWeight = 1.0
    /// One-attribute-off copies of each image's caption added as negatives to that loss (Shapes-grammar
    /// captions only; 0 = none). See `HardNegativeCaptions`.
    public var hardNegatives = 2
    /// The fixed scale of that loss's logits (CLIP's initial 1/0.07; the learned logit_scale stays the
    /// preference model's own).
    public var captionLogitScale = 1 / 0.07
    /// The scorer's architecture (a new scorer is drawn from `seed`).
    public var model = PreferenceScorerConfig()

    public init() {}

    public func validate() throws {
        func bad(_ flag: String, _ why: String) -> TrainingConfigError { .invalid(flag: flag, reason: why) }
        guard steps > 0 else { throw bad("--steps", "must be positive") }
        guard batchSize > 0 else { throw bad("--batch-size", "must be positive") }
        guard learningRate > 0, learningRate.isFinite else { throw bad("--lr", "must be a positive number") }
        guard warmupSteps >= 0 else { throw bad("--warmup", "must not be negative") }
        guard weightDecay >= 0, weightDecay.isFinite else { throw bad("--weight-decay", "must not be negative") }
        guard maxGradNorm > 0, maxGradNorm.isFinite else { throw bad("--max-grad-norm", "must be positive") }
        guard (0..<1).contains(emaDecay) else { throw bad("--ema-decay", "must be in [0, 1); 0 disables the EMA") }
        guard checkpointEvery > 0 else { throw bad("--checkpoint-every", "must be positive") }
        guard validateEvery >= 0 else { throw bad("--validate-every", "must not be negative; 0 turns it off") }
        guard captionLossWeight >= 0, captionLossWeight.isFinite else { throw bad("--caption-loss-weight", "must be ≥ 0; 0 turns it off") }
        guard hardNegatives >= 0 else { throw bad("--hard-negatives", "must not be negative; 0 turns them off") }
        guard captionLogitScale > 0, captionLogitScale.isFinite else { throw bad("--caption-logit-scale", "must be a positive number") }
        if let users, users.isEmpty { throw bad("--users", "names no user; give ids such as 0 or 3,7, or 'all'") }
        _ = try LRSchedule(name: lrSchedule, baseLR: learningRate, warmupSteps: warmupSteps, totalSteps: steps)
        try model.validate()
    }

    /// The settings that must match to resume (the step budget may be extended).
    var withoutSteps: ScorerTrainingConfig {
        var c = self
        c.steps = 0
        return c
    }
}
