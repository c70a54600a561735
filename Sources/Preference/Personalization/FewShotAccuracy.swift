import Autograd
import Datasets
import Foundation
import Kernels
import ShapesWorld

/// How well K pairs predict a user's other choices: for every user, u from K support pairs (drawn
/// `draws` times) predicts each non-tie query pair by the sign of ⟨u, ψ(a) − ψ(b)⟩. The population-only
/// predictor uses one embedding for everybody (the population user's, from many of its pairs), i.e.
/// what a non-personalized model knows. With Shapes users, the oracle rows give the ceilings: the
/// sign of the true reward difference under the user's own weights, and under the population's.
public struct FewShotAccuracyReport: Codable, Sendable {
    public struct UserResult: Codable, Sendable {
        public var user: Int
        public var archetype: String?
        /// Non-tie query pairs scored.
        public var queries: Int
        public var fewShot: Double
        public var population: Double
        public var oracleUser: Double?
        public var oraclePopulation: Double?
    }

    public var supportSplit: String
    public var querySplit: String
    public var shots: Int
    public var draws: Int
    public var populationSource: String
    /// Micro-averages over every query pair of every user.
    public var fewShot: Double
    public var population: Double
    public var oracleUser: Double?
    public var oraclePopulation: Double?
    public var queries: Int
    public var users: [UserResult]

    public var headline: String {
        var s = String(format: "few-shot (K=%d) accuracy %.1f%% vs population-only %.1f%% on %d query pairs of %d users (%@)",
                       shots, 100 * fewShot, 100 * population, queries, users.count, querySplit)
        if let o = oracleUser, let p = oraclePopulation {
            s += String(format: "; oracle with the user's true weights %.1f%%, with population weights %.1f%%", 100 * o, 100 * p)
        }
        return s
    }

    public var markdown: String {
        func pct(_ v: Double?) -> String { v.map { String(format: "%.1f%%", 100 * $0) } ?? "–" }
        var lines = [
            "| user | archetype | queries | few-shot u (K=\(shots)) | population u | oracle (own w) | oracle (population w) |",
            "|---|---|---|---|---|---|---|",
        ]
        for u in users {
            lines.append("| \(u.user) | \(u.archetype ?? "–") | \(u.queries) | \(pct(u.fewShot)) | \(pct(u.population)) | \(pct(u.oracleUser)) | \(pct(u.oraclePopulation)) |")
        }
        lines.append("| **all** | | \(queries) | **\(pct(fewShot))** | \(pct(population)) | \(pct(oracleUser)) | \(pct(oraclePopulation)) |")
        return lines.joined(separator: "\n")
    }
}

public enum FewShotAccuracy {
    /// ψ(winner) − ψ(loser) of `pairs` of `dataset`, one row each, without a graph (chunks of 64 pairs).
    public static func differences(encoder: UserEncoder, dataset: PairDataset, pairs: [Int]) throws -> [[Float]] {
        var out: [[Float]] = []
        out.reserveCapacity(pairs.count)
        var start = 0
        while start < pairs.count {
            let chunk = Array(pairs[start..<min(pairs.count, start + 64)])
            let images = try PairImages.load(dataset, pairs: chunk, resolution: encoder.config.sampleSize)
            let d = try GradMode.withoutGrad { try encoder.pairDifferences(winners: images.winners, losers: images.losers) }
            let e = d.shape[1]
            for i in 0..<chunk.count { out.append(Array(UnsafeBufferPointer(start: d.data + i * e, count: e))) }
            start += chunk.count
        }
        return out
    }

    /// normalize(mean of rows).
    static func prototype(_ rows: [[Float]]) -> [Float] {
        let e = rows.first?.count ?? 0
        var m = [Double](repeating: 0, count: e)
        for r in rows { for j in 0..<e { m[j] += Double(r[j]) } }
        let norm = m.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return m.map { Float($0 / max(norm, 1e-12)) }
    }

    static func dot(_ a: [Float], _ b: [Float]) -> Double {
        var s = 0.0
        for j in 0..<a.count { s += Double(a[j]) * Double(b[j]) }
        return s
    }

    /// The population-only embedding: the prototype of up to `maxPairs` non-tie pairs of the population
    /// user 0 in `index` (evenly spaced through the file), or of every user's pairs when there is no user 0.
    public static func populationPrototype(encoder: UserEncoder, index: UserPairIndex, maxPairs: Int = 1024) throws -> (prototype: [Float], source: String) {
        let population = index.supportPairsByUser[SimulatedUser.populationID] ?? []
        let pool = population.isEmpty ? index.supportPairsByUser.values.flatMap { $0 }.sorted() : population
        guard !pool.isEmpty else { throw PersonalizationError.input("\(index.dataset.file) has no labelled non-tie pair to build a population embedding from") }
        let stride = max(1, pool.count / maxPairs)
        let chosen = Swift.stride(from: 0, to: pool.count, by: stride).prefix(maxPairs).map { pool[$0] }
        let source = (population.isEmpty ? "all users' pairs" : "population user 0's pairs") + " (\(chosen.count) of \(index.dataset.file))"
        return (prototype(try differences(encoder: encoder, dataset: index.dataset, pairs: chosen)), source)
    }

    /// Accuracy on `queries`' users (every user there unless `users` is given), each user's support drawn
    /// from `support` (the same split is fine: a query pair is never its own support). `simulatedUsers`
    /// (a Shapes users.json) adds the oracle ceilings.
    public static func evaluate(encoder: UserEncoder, support: UserPairIndex, queries: UserPairIndex,
                                population: (prototype: [Float], source: String), users: [Int]? = nil,
                                draws: Int, seed: UInt64, maxQueriesPerUser: Int? = nil,
                                simulatedUsers: [SimulatedUser]? = nil) throws -> FewShotAccuracyReport {
        let k = encoder.config.shots
        let chosenUsers = (users ?? queries.users).filter { (queries.supportPairsByUser[$0]?.isEmpty == false) }
        var results: [FewShotAccuracyReport.UserResult] = []
        var totals = (few: 0.0, pop: 0.0, oracleUser: 0.0, oraclePop: 0.0, n: 0)
        let sameSplit = support === queries
        for user in chosenUsers {
            var queryPairs = queries.supportPairsByUser[user] ?? []
            if let cap = maxQueriesPerUser { queryPairs = Array(queryPairs.prefix(cap)) }
            let supportPool = try support.supportPairs(of: user, need: 0).filter { !sameSplit || !queryPairs.contains($0) }
            guard supportPool.count >= k else {
                throw PersonalizationError.tooFewPairs(user: user, have: supportPool.count, need: k, source: support.dataset.file,
                                                       hint: "evaluate users with at least K labelled pairs in the support split")
            }
            let dq = try differences(encoder: encoder, dataset: queries.dataset, pairs: queryPairs)
            let ds = try differences(encoder: encoder, dataset: support.dataset, pairs: supportPool)
            var rng = RNG(seed: seed, stream: 0x5553_4552).derived(stream: UInt64(bitPattern: Int64(user)))
            var few = 0.0
            for _ in 0..<draws {
                let chosen = UserPairIndex.draw(k, from: Array(0..<supportPool.count), rng: &rng)
                let u = prototype(chosen.map { ds[$0] })
                few += Double(dq.filter { dot(u, $0) > 0 }.count)
            }
            few /= Double(draws)
            let pop = Double(dq.filter { dot(population.prototype, $0) > 0 }.count)
            var result = FewShotAccuracyReport.UserResult(user: user, archetype: nil, queries: dq.count,
                                                          fewShot: few / Double(dq.count), population: pop / Double(dq.count))
            if let simulated = simulatedUsers, let me = simulated.first(where: { $0.id == user }) {
                result.archetype = me.archetype?.rawValue
                let (own, popRight) = try oracleAgreement(dataset: queries.dataset, pairs: queryPairs, weights: me.weights)
                result.oracleUser = own / Double(dq.count)
                result.oraclePopulation = popRight / Double(dq.count)
                totals.oracleUser += own; totals.oraclePop += popRight
            }
            totals.few += few; totals.pop += pop; totals.n += dq.count
            results.append(result)
        }
        guard totals.n > 0 else {
            throw PersonalizationError.input("no labelled non-tie query pairs of the chosen users in \(queries.dataset.file)")
        }
        let withOracle = !results.isEmpty && results.allSatisfy { $0.oracleUser != nil }
        return FewShotAccuracyReport(
            supportSplit: support.dataset.split, querySplit: queries.dataset.split, shots: k, draws: draws,
            populationSource: population.source, fewShot: totals.few / Double(totals.n), population: totals.pop / Double(totals.n),
            oracleUser: withOracle ? totals.oracleUser / Double(totals.n) : nil,
            oraclePopulation: withOracle ? totals.oraclePop / Double(totals.n) : nil,
            queries: totals.n, users: results)
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
