import Autograd
import Foundation

/// The PickScore objective on B pairs (Kirstain et al. 2023; yuvalkirstain/PickScore `clip_criterion`):
/// the two scores of a pair go through a softmax and are fitted by cross-entropy to the pair's labels
/// (y, 1 − y) — y = 1 when the first image was preferred, ½ for a tie:
///
///     CE_i = −y·log softmax(s₁, s₂)₁ − (1 − y)·log softmax(s₁, s₂)₂
///          = y·softplus(s₂ − s₁) + (1 − y)·softplus(s₁ − s₂)
///     L    = Σ_i ŵ_i · (CE_i − [tie_i]·ln 2),   ŵ_i = w_i / Σ_j w_j,  w_i = 1 / num_example_per_prompt_i
///
/// Subtracting ln 2 from a tie (PickScore adds log 0.5) makes every row's minimum 0 and leaves the
/// gradient unchanged. Rows without num_example_per_prompt weigh 1, so a dataset without the column
/// gets the plain mean.
public enum PreferencePairLoss {
    /// `first`, `second`: [B] scores; `isTie[i]` makes row i's target ½/½ (otherwise the first image won).
    public static func loss(first: Tensor, second: Tensor, isTie: [Bool], examplesPerPrompt: [Int?]) throws -> Tensor {
        let b = first.count
        guard first.shape == [b], second.shape == [b], isTie.count == b, examplesPerPrompt.count == b, b > 0 else {
            throw ScorerError.invalidInput("pair loss: scores \(first.shape) and \(second.shape), \(isTie.count) tie flags and \(examplesPerPrompt.count) weights must all describe the same B > 0 pairs")
        }
        if let bad = examplesPerPrompt.compactMap({ $0 }).first(where: { $0 < 1 }) {
            throw ScorerError.invalidInput("num_example_per_prompt must be at least 1, got \(bad); fix the dataset's column")
        }
        let w = rowWeights(examplesPerPrompt)
        // Per row: ŵ·y on softplus(s₂ − s₁), ŵ·(1 − y) on softplus(s₁ − s₂), and the constant −ŵ·[tie]·ln 2.
        var wFirst = [Float](repeating: 0, count: b), wSecond = wFirst
        var offset = 0.0
        for i in 0..<b {
            let y = isTie[i] ? 0.5 : 1.0
            wFirst[i] = Float(w[i] * y)
            wSecond[i] = Float(w[i] * (1 - y))
            if isTie[i] { offset += w[i] * Foundation.log(2.0) }
        }
        let d = first - second
        let rows = softplus(neg(d)) * Tensor(shape: [b], data: wFirst) + softplus(d) * Tensor(shape: [b], data: wSecond)
        return sum(rows) - Float(offset)
    }

    /// ŵ_i = (1 / n_i) / Σ_j (1 / n_j), with n = 1 where the column is absent.
    public static func rowWeights(_ examplesPerPrompt: [Int?]) -> [Double] {
        let raw = examplesPerPrompt.map { 1 / Double($0 ?? 1) }
        let total = raw.reduce(0, +)
        return raw.map { $0 / total }
    }
}
