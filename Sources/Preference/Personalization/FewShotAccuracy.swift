import Autograd
import Datasets
import Foundation
import Kernels
import ShapesWorld

/// How well K pairs predict a user's other choices. For every user, the MAP weights from K of their
/// support pairs predict each non-tie query pair by the sign of z = α·Δs + ⟨w, Δψ⟩, with K pairs chosen
/// at random (`draws` times) or by `UserPrior.informativeOrder` (label-free, one deterministic choice).
/// Baselines: the shared scorer alone (what a non-personalized model knows) and the estimate from all of
/// the user's support pairs. With Shapes users the oracle rows give the ceilings: the sign of the true reward
/// difference under the user's own weights, and under the population's.
public struct FewShotAccuracyReport: Codable, Sendable {
    public struct UserResult: Codable, Sendable {
        public var user: Int
        public var archetype: String?
        /// Non-tie query pairs scored.
        public var queries: Int
        public var scorerAlone: Double
        public var randomShots: Double
        public var informativeShots: Double
        public var allSupport: Double
        public var oracleUser: Double?
        public var oraclePopulation: Double?
    }

    public var supportSplit: String
    public var querySplit: String
    public var shots: Int
    public var draws: Int
    /// Micro-averages over every query pair of every user.
    public var scorerAlone: Double
    public var randomShots: Double
    public var informativeShots: Double
    public var allSupport: Double
    public var oracleUser: Double?
    public var oraclePopulation: Double?
    public var queries: Int
    public var users: [UserResult]

    public var headline: String {
        var s = String(format: "K=%d pairs: %.1f%% informative, %.1f%% random vs the scorer alone %.1f%% on %d query pairs of %d users (%@)",
                       shots, 100 * informativeShots, 100 * randomShots, 100 * scorerAlone, queries, users.count, querySplit)
        if let o = oracleUser, let p = oraclePopulation {
            s += String(format: "; oracle with the user's true weights %.1f%%, with population weights %.1f%%", 100 * o, 100 * p)
        }
        return s
    }

    public var markdown: String {
        func pct(_ v: Double?) -> String { v.map { String(format: "%.1f%%", 100 * $0) } ?? "–" }
        var lines = [
            "| user | archetype | queries | scorer alone | K=\(shots) random (\(draws) draws) | K=\(shots) informative | all support pairs | oracle (own w) | oracle (population w) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for u in users {
            lines.append("| \(u.user) | \(u.archetype ?? "–") | \(u.queries) | \(pct(u.scorerAlone)) | \(pct(u.randomShots)) | \(pct(u.informativeShots)) | \(pct(u.allSupport)) | \(pct(u.oracleUser)) | \(pct(u.oraclePopulation)) |")
        }
        lines.append("| **all** | | \(queries) | \(pct(scorerAlone)) | \(pct(randomShots)) | **\(pct(informativeShots))** | \(pct(allSupport)) | \(pct(oracleUser)) | \(pct(oraclePopulation)) |")
        return lines.joined(separator: "\n")
    }
}

public enum FewShotAccuracy {
    /// Accuracy on `queries`' users, each user's support pairs from `support` (a different split).
    /// `simulatedUsers` (a Shapes users.json) adds the oracle ceilings.
    public static func evaluate(encoder: UserEncoder, support: UserPairIndex, queries: UserPairIndex,
                                draws: Int, seed: UInt64, simulatedUsers: [SimulatedUser]? = nil) throws -> FewShotAccuracyReport {
        let k = encoder.config.shots
        let prior = try encoder.prior()
        let chosenUsers = queries.users.filter { queries.supportPairsByUser[$0]?.isEmpty == false }
        var results: [FewShotAccuracyReport.UserResult] = []
        var totals = (scorer: 0.0, random: 0.0, informative: 0.0, all: 0.0, oracleUser: 0.0, oraclePop: 0.0, n: 0)
        for user in chosenUsers {
            let queryPairs = queries.supportPairsByUser[user] ?? []
            let supportPairs = try support.pairs(of: user)
            let nonTie = supportPairs.indices.filter { !support.isTie[supportPairs[$0]] }
            guard nonTie.count >= k else {
                throw PersonalizationError.tooFewPairs(user: user, have: nonTie.count, need: k, source: support.dataset.file,
                                                       hint: "evaluate users with at least K labelled pairs in the support split")
            }
            let q = try UserPairFeatures.compute(dataset: queries.dataset, pairs: queryPairs, encoder: encoder)
            let s = try UserPairFeatures.compute(dataset: support.dataset, pairs: supportPairs, encoder: encoder)
            func accuracy(_ w: [Double]) -> Double { Double(q.filter { prior.logit($0, weights: w) > 0 }.count) }
            var rng = RNG(seed: seed, stream: 0x5553_4552).derived(stream: UInt64(bitPattern: Int64(user)))
            var random = 0.0
            for _ in 0..<draws {
                random += accuracy(prior.mapEstimate(UserPairIndex.draw(k, from: nonTie, rng: &rng).map { s[$0] }))
            }
            random /= Double(draws)
            let informative = accuracy(prior.mapEstimate(prior.informativeOrder(s).prefix(k).map { s[$0] }))
            let all = accuracy(prior.mapEstimate(s))
            let scorer = Double(q.filter { $0.scoreDifference > 0 }.count)
            let n = Double(q.count)
            var result = FewShotAccuracyReport.UserResult(user: user, archetype: nil, queries: q.count, scorerAlone: scorer / n,
                                                          randomShots: random / n, informativeShots: informative / n, allSupport: all / n)
            if let simulated = simulatedUsers, let me = simulated.first(where: { $0.id == user }) {
                result.archetype = me.archetype?.rawValue
                let (own, popRight) = try oracleAgreement(dataset: queries.dataset, pairs: queryPairs, weights: me.weights)
                result.oracleUser = own / n
                result.oraclePopulation = popRight / n
                totals.oracleUser += own; totals.oraclePop += popRight
            }
            totals.scorer += scorer; totals.random += random; totals.informative += informative; totals.all += all; totals.n += q.count
            results.append(result)
        }
        guard totals.n > 0 else {
            throw PersonalizationError.input("no labelled non-tie query pairs in \(queries.dataset.file)")
        }
        let n = Double(totals.n)
        let withOracle = !results.isEmpty && results.allSatisfy { $0.oracleUser != nil }
        return FewShotAccuracyReport(
            supportSplit: support.dataset.split, querySplit: queries.dataset.split, shots: k, draws: draws,
            scorerAlone: totals.scorer / n, randomShots: totals.random / n, informativeShots: totals.informative / n,
            allSupport: totals.all / n, oracleUser: withOracle ? totals.oracleUser / n : nil,
            oraclePopulation: withOracle ? totals.oraclePop / n : nil, queries: totals.n, users: results)
    }

    /// Pairs (winner first) whose true reward difference agrees with the label, under `weights` and
    /// under the population's weights; an exact reward tie counts ½.
    static func oracleAgreement(dataset: PairDataset, pairs: [Int], weights: PreferenceWeights) throws -> (Double, Double) {
        var own = 0.0, pop = 0.0
        for i in pairs {
            let pair = try dataset.pair(at: i)
            guard let prompt = try? ShapesPrompt(parsing: pair.prompt) else {
                throw PersonalizationError.input("\(dataset.file) line \(pair.line): the oracle needs Shapes prompts; evaluate without users.json for other data")
            }
            let images = try dataset.images(of: pair)
            let mw = try Oracle.measure(images.winner), ml = try Oracle.measure(images.loser)
            func credit(_ w: PreferenceWeights) -> Double {
                let d = Reward.reward(mw, prompt: prompt, weights: w) - Reward.reward(ml, prompt: prompt, weights: w)
                return d > 0 ? 1 : d == 0 ? 0.5 : 0
            }
            own += credit(weights)
            pop += credit(.population)
        }
        return (own, pop)
    }
}
