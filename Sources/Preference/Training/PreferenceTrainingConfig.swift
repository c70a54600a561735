/// Every knob of `t2ialign train`, recorded as `config.json` next to the checkpoint. Names follow the
/// reference Diffusion-DPO script where it has one (beta_dpo, learning_rate, lr_warmup_steps,
/// train_batch_size, gradient_accumulation_steps, max_grad_norm, proportion_empty_prompts, max_train_steps,
/// checkpointing_steps).
public struct PreferenceTrainingConfig: Codable, Sendable, Equatable {
    public var objective: Objective = .dpo
    /// β of the objective (DPO/DCPO: the −0.5·β convention; MaPO: β_mapo). nil = the objective's default.
    public var beta: Double?
    public var learningRate = 1e-6
    public var lrSchedule = "constant_with_warmup"
    public var warmupSteps = 50
    public var weightDecay = 0.01
    /// Pairs per micro-batch (the network sees twice as many images).
    public var batchSize = 8
    public var gradientAccumulation = 1
    public var maxGradNorm = 1.0
    /// p_uncond: probability of conditioning a pair on the empty prompt (0 for preference objectives by default,
    /// 0.1 for SFT as in pretraining).
    public var promptDropout: Double?
    public var steps = 500
    public var seed: UInt64 = 0
    public var checkpointEvery = 100
    /// EMA of the trained weights (0 = off; the raw weights are saved).
    public var emaDecay = 0.0
    /// DCPO caption strategy: "dataset" (caption_0/caption_1), or captioning, perturb-weak|medium|strong, hybrid.
    public var captions = "dataset"
    /// Train only on pairs judged by these users (nil = every user). Non-personalized alignment in the
    /// Shapes world uses the population user 0.
    public var users: [Int]?
    /// Random horizontal flips of both images of a pair.
    public var flip = false
    /// Gradient checkpointing of the trained U-Net (`--gradient-checkpointing`): less memory, about one more
    /// forward pass per step, the same results. nil (older config.json files) means off. A memory knob, so
    /// a run may resume with it switched either way.
    public var gradientCheckpointing: Bool?
    /// Personalized DPO (`--personalized`, with `objective` dpo): the user encoder, M, K, p_udrop.
    /// nil for every non-personalized run (and absent from their config.json).
    public var personalization: PersonalizationSettings?

    public init() {}

    /// The β the loss uses: `beta` or the objective's default; nil for SFT, which has no β.
    public var effectiveBeta: Double? { objective.defaultBeta.map { beta ?? $0 } }
    public var effectivePromptDropout: Double { promptDropout ?? (objective == .sft ? 0.1 : 0) }

    /// The same settings with the defaults that depend on the objective written out (β — none for SFT, which
    /// has no β —, p_uncond, gradient checkpointing), so config.json records every value a run uses.
    public var resolved: PreferenceTrainingConfig {
        var c = self
        c.beta = effectiveBeta
        c.promptDropout = effectivePromptDropout
        c.gradientCheckpointing = gradientCheckpointing ?? false
        return c
    }

    /// Whether a checkpoint written with `other` may be resumed with these settings: equal once resolved
    /// (a config.json from before `resolved` left the defaults out), whatever the step budget and the
    /// memory-only gradient checkpointing.
    public func resumes(_ other: PreferenceTrainingConfig) -> Bool {
        var mine = resolved, theirs = other.resolved
        mine.steps = 0; theirs.steps = 0
        mine.gradientCheckpointing = nil; theirs.gradientCheckpointing = nil
        return mine == theirs
    }

    public func validate() throws {
        func bad(_ flag: String, _ why: String) -> PreferenceTrainingError { .invalidSetting(flag: flag, reason: why) }
        guard steps > 0 else { throw bad("--steps", "must be positive") }
        guard batchSize > 0 else { throw bad("--batch-size", "must be positive") }
        guard gradientAccumulation > 0 else { throw bad("--gradient-accumulation", "must be positive") }
        guard learningRate > 0, learningRate.isFinite else { throw bad("--lr", "must be a positive number") }
        guard warmupSteps >= 0 else { throw bad("--warmup", "must not be negative") }
        guard weightDecay >= 0 else { throw bad("--weight-decay", "must not be negative") }
        guard maxGradNorm > 0 else { throw bad("--max-grad-norm", "must be positive") }
        guard (0..<1).contains(emaDecay) else { throw bad("--ema-decay", "must be in [0, 1); 0 disables the EMA") }
        if let b = beta { guard b > 0, b.isFinite else { throw bad("--beta", "must be a positive number") } }
        if let p = promptDropout { guard (0...1).contains(p) else { throw bad("--prompt-dropout", "must be in [0, 1]") } }
        guard checkpointEvery > 0 else { throw bad("--checkpoint-every", "must be positive") }
        guard CaptionSource(name: captions) != nil else {
            throw bad("--captions", "must be one of \(CaptionSource.names.joined(separator: ", "))")
        }
        if let p = personalization {
            guard objective == .dpo else { throw bad("--personalized", "works with --objective dpo (got \(objective.rawValue))") }
            do { try p.validate() } catch let PersonalizationError.invalidSetting(flag, reason) { throw bad(flag, reason) }
        }
    }
}

public enum PreferenceTrainingError: Error, CustomStringConvertible {
    case invalidSetting(flag: String, reason: String)
    case resumeMismatch(String)
    case data(String)
    case diverged(step: Int, loss: Double)

    public var description: String {
        switch self {
        case .invalidSetting(let flag, let reason): return "\(flag) \(reason)"
        case .resumeMismatch(let why): return why
        case .data(let why): return why
        case .diverged(let step, let loss):
            return "training diverged at step \(step) (loss \(loss)); lower --lr or --beta"
        }
    }
}
