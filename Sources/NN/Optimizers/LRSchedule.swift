import Foundation

/// Learning-rate schedules with the semantics of diffusers' `get_scheduler` (transformers'
/// `get_*_schedule*` wrapped in torch's `LambdaLR`): `lr(at: k)` is `base_lr · λ(k)`, the rate torch uses
/// for the optimizer update made after `k` calls to `scheduler.step()` (so `k` = updates done so far).
///
///     constant               λ(k) = 1
///     constant_with_warmup   λ(k) = k / max(1, warmup)  while k < warmup, then 1
///     linear                 warmup as above, then max(0, (total − k) / max(1, total − warmup))
///     cosine                 warmup as above, then max(0, ½(1 + cos(π · 2·cycles · p))),
///                            p = (k − warmup) / max(1, total − warmup), cycles = 0.5 by default
///
/// The schedule is a pure function of the step, so a checkpoint only needs the schedule and the step.
public struct LRSchedule: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, CaseIterable, Sendable {
        case constant
        case constantWithWarmup = "constant_with_warmup"
        case linear
        case cosine
    }

    public let kind: Kind
    public let baseLR: Double
    public let warmupSteps: Int
    /// Needed by `linear` and `cosine` (diffusers' `num_training_steps`).
    public let totalSteps: Int?
    /// Cosine cycles over the post-warmup steps (0.5: one half-wave from base LR down to 0).
    public let numCycles: Double

    public init(_ kind: Kind, baseLR: Double, warmupSteps: Int = 0, totalSteps: Int? = nil, numCycles: Double = 0.5) throws {
        guard baseLR.isFinite, baseLR >= 0 else {
            throw LRScheduleError("learning rate \(baseLR) must be a finite number ≥ 0")
        }
        guard warmupSteps >= 0 else { throw LRScheduleError("warmup steps \(warmupSteps) must be ≥ 0") }
        if kind == .linear || kind == .cosine {
            guard let totalSteps else {
                throw LRScheduleError("the \(kind.rawValue) schedule needs the total number of training steps")
            }
            guard totalSteps > 0 else { throw LRScheduleError("total training steps \(totalSteps) must be > 0") }
        }
        guard numCycles.isFinite, numCycles > 0 else { throw LRScheduleError("cosine cycles \(numCycles) must be > 0") }
        self.kind = kind
        self.baseLR = baseLR
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.numCycles = numCycles
    }

    /// By diffusers' name (`constant`, `constant_with_warmup`, `linear`, `cosine`), e.g. from a CLI flag.
    public init(name: String, baseLR: Double, warmupSteps: Int = 0, totalSteps: Int? = nil) throws {
        guard let kind = Kind(rawValue: name) else {
            throw LRScheduleError("unknown LR schedule \"\(name)\"; use one of: \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        try self.init(kind, baseLR: baseLR, warmupSteps: warmupSteps, totalSteps: totalSteps)
    }

    /// λ(step): the factor applied to the base learning rate.
    public func multiplier(at step: Int) -> Double {
        let k = max(0, step)
        if kind == .constant { return 1 }
        if k < warmupSteps { return Double(k) / Double(max(1, warmupSteps)) }
        let total = totalSteps ?? 0
        switch kind {
        case .constant, .constantWithWarmup:
            return 1
        case .linear:
            return max(0, Double(total - k) / Double(max(1, total - warmupSteps)))
        case .cosine:
            let progress = Double(k - warmupSteps) / Double(max(1, total - warmupSteps))
            return max(0, 0.5 * (1 + cos(Double.pi * numCycles * 2 * progress)))
        }
    }

    /// The learning rate for the update after `step` completed updates.
    public func lr(at step: Int) -> Double { baseLR * multiplier(at: step) }

    // Decoding validates like the initializer, so a hand-edited state.json cannot smuggle in bad values.
    private enum CodingKeys: String, CodingKey { case kind, baseLR, warmupSteps, totalSteps, numCycles }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(try c.decode(Kind.self, forKey: .kind), baseLR: try c.decode(Double.self, forKey: .baseLR),
                      warmupSteps: try c.decode(Int.self, forKey: .warmupSteps),
                      totalSteps: try c.decodeIfPresent(Int.self, forKey: .totalSteps),
                      numCycles: try c.decodeIfPresent(Double.self, forKey: .numCycles) ?? 0.5)
    }
}

public struct LRScheduleError: Error, CustomStringConvertible, LocalizedError {
    public let description: String
    init(_ description: String) { self.description = description }
    public var errorDescription: String? { description }
}
