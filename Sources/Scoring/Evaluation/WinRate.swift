import Foundation
import Kernels

/// Win rate of model A over model B from paired scores (specs/evaluation.md):
/// A wins a comparison when s_A > s_B, exact ties count ½; the 95% interval is a bootstrap over prompts
/// (all seeds of a prompt are resampled together, since they share the prompt's difficulty).
public struct WinRate: Codable, Sendable, Equatable {
    public let wins: Int, losses: Int, ties: Int
    public var comparisons: Int { wins + losses + ties }
    /// (wins + ½·ties) / comparisons.
    public let rate: Double
    /// 2.5% and 97.5% quantiles of the bootstrap distribution.
    public let lower: Double, upper: Double
    public let bootstrapRounds: Int

    /// One comparison: the prompt it belongs to and the two scores.
    public struct Comparison: Codable, Sendable, Equatable {
        public let prompt: String
        public let scoreA: Double, scoreB: Double
        public init(prompt: String, scoreA: Double, scoreB: Double) {
            self.prompt = prompt
            self.scoreA = scoreA
            self.scoreB = scoreB
        }
        /// 1 for a win of A, ½ for a tie, 0 for a loss.
        public var credit: Double { scoreA > scoreB ? 1 : (scoreA == scoreB ? 0.5 : 0) }
    }

    public init(comparisons: [Comparison], bootstrapRounds: Int = 1000, seed: UInt64 = 0) {
        wins = comparisons.filter { $0.scoreA > $0.scoreB }.count
        ties = comparisons.filter { $0.scoreA == $0.scoreB }.count
        losses = comparisons.count - wins - ties
        rate = comparisons.isEmpty ? .nan : comparisons.map(\.credit).reduce(0, +) / Double(comparisons.count)
        self.bootstrapRounds = bootstrapRounds

        // Per prompt: total credit and count, in first-seen order (deterministic).
        var index: [String: Int] = [:]
        var credit: [Double] = [], count: [Int] = []
        for c in comparisons {
            if let i = index[c.prompt] {
                credit[i] += c.credit; count[i] += 1
            } else {
                index[c.prompt] = credit.count
                credit.append(c.credit); count.append(1)
            }
        }
        let groups = credit.count
        guard groups > 0, bootstrapRounds > 0 else { lower = rate; upper = rate; return }
        var rng = RNG(seed: seed, stream: 0xB007)
        var rates: [Double] = []
        rates.reserveCapacity(bootstrapRounds)
        for _ in 0..<bootstrapRounds {
            var c = 0.0, n = 0
            for _ in 0..<groups {
                let g = rng.nextInt(below: groups)
                c += credit[g]; n += count[g]
            }
            rates.append(c / Double(n))
        }
        rates.sort()
        lower = WinRate.quantile(rates, 0.025)
        upper = WinRate.quantile(rates, 0.975)
    }

    /// Linear-interpolated quantile of sorted values.
    public static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let pos = q * Double(sorted.count - 1)
        let lo = Int(pos.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - Double(lo))
    }

    public static func median(_ values: [Double]) -> Double { quantile(values.sorted(), 0.5) }

    /// "62.5% [55.1, 69.8] (W 40 / L 22 / T 2 of 64)".
    public var summary: String {
        String(format: "%.1f%% [%.1f, %.1f] (W %d / L %d / T %d of %d)",
               100 * rate, 100 * lower, 100 * upper, wins, losses, ties, comparisons)
    }
}
