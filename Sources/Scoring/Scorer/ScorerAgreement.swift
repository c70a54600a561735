import Foundation

/// One labelled pair as a scorer sees it: the scores of its two images, the labelled winner first
/// (for a tie, in the row's order).
public struct ScoredPair: Sendable, Equatable, Codable {
    public var first: Double
    public var second: Double
    public var isTie: Bool

    public init(first: Double, second: Double, isTie: Bool) {
        self.first = first
        self.second = second
        self.isTie = isTie
    }
}

/// How well a scorer agrees with human (or simulated) labels on a set of pairs (specs/evaluation.md).
///
/// - **Agreement with non-tie labels**: over the pairs whose label is not a tie, the share where the
///   labelled winner gets the higher score (equal scores earn ½). This is the headline number.
/// - **Accuracy with tie prediction** (PickScore's protocol): the scorer's probabilities for a pair are
///   the softmax of its two scores divided by `temperature`, so p₁ − p₂ = tanh((s₁ − s₂) / 2T). It predicts
///   a tie when |p₁ − p₂| < threshold, otherwise the image with the higher score. Credit per pair:
///     label and prediction agree (same winner, or both tie)      1
///     exactly one of them is a tie ("half right")                ½
///     opposite winners                                           0
///     no tie predicted but equal scores                          ½
///   The threshold is the one that maximises this accuracy on the validation split (the smallest such).
public struct ScorerAgreement: Codable, Sendable, Equatable {
    public var pairs: Int
    public var ties: Int
    public var nonTieAgreement: Double?
    /// The softmax temperature of the scores (1 for the learned scorer, whose scores are logits; 0.5 for
    /// the oracle reward, the labels' Bradley–Terry temperature).
    public var temperature: Double
    public var tieThreshold: Double
    public var accuracyWithTies: Double?
    /// The split the threshold was tuned on.
    public var thresholdTunedOn: String

    public init(pairs scored: [ScoredPair], temperature: Double, tieThreshold: Double, thresholdTunedOn: String) {
        pairs = scored.count
        ties = scored.filter(\.isTie).count
        nonTieAgreement = Self.nonTieAgreement(scored)
        self.temperature = temperature
        self.tieThreshold = tieThreshold
        accuracyWithTies = scored.isEmpty ? nil : Self.accuracy(scored, threshold: tieThreshold, temperature: temperature)
        self.thresholdTunedOn = thresholdTunedOn
    }

    public var nonTiePairs: Int { pairs - ties }

    /// "82.4% of 1,803 non-tie labels; 80.9% with tie prediction (threshold 0.031, tuned on validation)".
    public var summary: String {
        func pct(_ v: Double?) -> String { v.map { String(format: "%.1f%%", 100 * $0) } ?? "n/a" }
        return "\(pct(nonTieAgreement)) of \(nonTiePairs) non-tie labels; \(pct(accuracyWithTies)) of \(pairs) pairs with tie prediction "
            + String(format: "(|p1 - p2| < %.4f, tuned on %@)", tieThreshold, thresholdTunedOn)
    }

    // MARK: Arithmetic

    /// Share of non-tie pairs whose labelled winner scores higher (equal scores ½); nil without any.
    public static func nonTieAgreement(_ pairs: [ScoredPair]) -> Double? {
        let decided = pairs.filter { !$0.isTie }
        guard !decided.isEmpty else { return nil }
        let credit = decided.reduce(0.0) { $0 + ($1.first > $1.second ? 1 : $1.first == $1.second ? 0.5 : 0) }
        return credit / Double(decided.count)
    }

    /// |p₁ − p₂| = |tanh((s₁ − s₂) / 2T)| for the softmax of the two scores at temperature T.
    public static func probabilityGap(_ p: ScoredPair, temperature: Double) -> Double {
        abs(tanh((p.first - p.second) / (2 * temperature)))
    }

    /// The credit of one pair (see the type's documentation).
    public static func credit(_ p: ScoredPair, threshold: Double, temperature: Double) -> Double {
        if probabilityGap(p, temperature: temperature) < threshold { return p.isTie ? 1 : 0.5 }
        return creditWithoutTie(p)
    }

    /// Expected agreement with a fresh draw of the non-tie labels, when the labels are known to be drawn as
    /// P(first preferred) = σ((r₁ − r₂) / temperature) from `rewards` (the Shapes oracle's, pair for pair with
    /// `scores`): per non-tie pair σ(|Δr|/T) when the scores order it as the rewards do, 1 − σ(|Δr|/T) when they
    /// order it the other way, ½ for equal scores. Scoring `rewards` themselves gives the oracle's expected
    /// agreement. Unlike the agreement with the one recorded draw, it carries no label-sampling noise (about
    /// 0.85 points of standard error on 2,000 labels), so two scorers' figures differ only where they rank pairs
    /// differently.
    public static func expectedNonTieAgreement(_ scores: [ScoredPair], rewards: [ScoredPair], temperature: Double) -> Double? {
        precondition(scores.count == rewards.count, "expected agreement needs the rewards of the same pairs")
        var credit = 0.0, n = 0
        for (s, r) in zip(scores, rewards) where !s.isTie {
            // P(a fresh label prefers the image the scores put first) = σ(sign(Δs)·Δr/T); σ(0) = ½ for equal scores.
            let scorerSign: Double = s.first > s.second ? 1 : s.first < s.second ? -1 : 0
            credit += 1 / (1 + exp(-scorerSign * (r.first - r.second) / temperature))
            n += 1
        }
        return n == 0 ? nil : credit / Double(n)
    }

    /// Credit when the scorer names a winner (or cannot, with equal scores).
    static func creditWithoutTie(_ p: ScoredPair) -> Double {
        if p.first == p.second || p.isTie { return 0.5 }
        return p.first > p.second ? 1 : 0
    }

    public static func accuracy(_ pairs: [ScoredPair], threshold: Double, temperature: Double) -> Double {
        guard !pairs.isEmpty else { return .nan }
        return pairs.reduce(0.0) { $0 + credit($1, threshold: threshold, temperature: temperature) } / Double(pairs.count)
    }

    /// The threshold with the best accuracy on `pairs` (the smallest one on equal accuracy) and that
    /// accuracy. Candidates: 0 (never a tie) and, for each distinct gap g, a value just above g — the
    /// midpoint to the next distinct gap, so the choice does not sit on a training gap's edge.
    public static func tuneThreshold(_ pairs: [ScoredPair], temperature: Double) -> (threshold: Double, accuracy: Double) {
        guard !pairs.isEmpty else { return (0, .nan) }
        let gaps = pairs.map { probabilityGap($0, temperature: temperature) }
        let order = gaps.indices.sorted { gaps[$0] < gaps[$1] }
        var total = pairs.reduce(0.0) { $0 + creditWithoutTie($1) }
        var best = (threshold: 0.0, credit: total)
        var k = 0
        while k < order.count {
            let g = gaps[order[k]]
            // Everything with this gap becomes a predicted tie.
            while k < order.count && gaps[order[k]] == g {
                let p = pairs[order[k]]
                total += (p.isTie ? 1 : 0.5) - creditWithoutTie(p)
                k += 1
            }
            if total > best.credit {
                let next = k < order.count ? gaps[order[k]] : max(1, g.nextUp)
                let mid = (g + next) / 2
                best = (mid > g ? mid : next, total)
            }
        }
        return (best.threshold, best.credit / Double(pairs.count))
    }
}
