import Foundation
import Kernels

/// A judgement of a pair: 1/0 when image 0/1 was preferred, 0.5/0.5 for a tie (Pick-a-Pic's labels).
public struct PreferenceLabel: Sendable, Equatable {
    public var label0: Double
    public var label1: Double

    public var isTie: Bool { label0 == 0.5 }

    public static let firstPreferred = PreferenceLabel(label0: 1, label1: 0)
    public static let secondPreferred = PreferenceLabel(label0: 0, label1: 1)
    public static let tie = PreferenceLabel(label0: 0.5, label1: 0.5)
}

/// Simulated judgements (shapes-world.md §5): Bradley–Terry on the measured rewards,
/// P(image 0 preferred) = σ((r0 − r1) / 0.5); a pair with |r0 − r1| < 0.05 is a tie.
public enum Labeler {
    public static let temperature = 0.5
    public static let tieThreshold = 0.05

    /// σ((r0 − r1) / temperature).
    public static func probabilityFirstPreferred(_ r0: Double, _ r1: Double) -> Double {
        1 / (1 + exp(-(r0 - r1) / temperature))
    }

    /// Draws the label of one pair. Exactly one uniform is consumed (ties too), so a pair's stream
    /// stays aligned whatever the rewards.
    public static func label(_ r0: Double, _ r1: Double, rng: inout RNG) -> PreferenceLabel {
        let u = rng.nextDouble()
        if abs(r0 - r1) < tieThreshold { return .tie }
        return u < probabilityFirstPreferred(r0, r1) ? .firstPreferred : .secondPreferred
    }
}
