import Autograd
import Datasets
import Foundation
import ImageIO
import Kernels
import ShapesWorld

/// The agreement of a learned scorer with a split's labels, next to the Shapes oracle's own agreement on
/// the same pairs (the oracle reward r_u of each row's user, measured from the dataset's pixels: the
/// ceiling that label noise sets). See `ScorerAgreement` for the exact definitions.
public struct AgreementReport: Codable, Sendable {
    public var data: String
    public var split: String
    /// The users whose pairs were scored (nil: all).
    public var users: [Int]?
    public var scorer: ScorerAgreement
    public var oracle: ScorerAgreement?
    /// Why there is no oracle figure (prompts outside the Shapes grammar, unknown users).
    public var oracleNote: String?
    /// With the oracle: both agreements in expectation over the labels' Bradley–Terry draw
    /// (`ScorerAgreement.expectedNonTieAgreement`), free of the recorded draw's sampling noise.
    public var expected: ExpectedAgreement?

    public struct ExpectedAgreement: Codable, Sendable, Equatable {
        public var scorer: Double
        public var oracle: Double

        public init(scorer: Double, oracle: Double) {
            self.scorer = scorer
            self.oracle = oracle
        }
    }

    public init(data: String, split: String, users: [Int]?, scorer: ScorerAgreement, oracle: ScorerAgreement?, oracleNote: String? = nil,
                expected: ExpectedAgreement? = nil) {
        self.data = data
        self.split = split
        self.users = users
        self.scorer = scorer
        self.oracle = oracle
        self.oracleNote = oracleNote
        self.expected = expected
    }

    public var text: String {
        var s = "agreement on \(data) split \(split)" + (users.map { " (users \($0.map(String.init).joined(separator: ",")))" } ?? "") + ":\n"
        s += "  learned scorer: \(scorer.summary)\n"
        s += "  oracle r_u:     " + (oracle?.summary ?? "n/a (\(oracleNote ?? "not computed"))")
        if let e = expectedSummary { s += "\n  " + e }
        return s
    }

    /// "expected over the labels' draw (…): scorer 81.58%, oracle 84.56%, gap 2.99 points", when computed.
    public var expectedSummary: String? {
        expected.map {
            String(format: "expected over the labels' draw (non-tie, σ(Δr/%.1f) from r_u): scorer %.2f%%, oracle %.2f%%, gap %.2f points",
                   Labeler.temperature, 100 * $0.scorer, 100 * $0.oracle, 100 * ($0.oracle - $0.scorer))
        }
    }
}

public enum AgreementEvaluation {
    /// Scores of every pair of a split, winner first: by the learned scorer and by the oracle.
    public struct SplitScores: Sendable {
        public var learned: [ScoredPair]
        public var oracle: [ScoredPair]?
        public var oracleNote: String?
    }

    /// A split for agreement: ties kept (they count for the tie-aware accuracy), only `users`' pairs.
    public static func open(directory: String, split: String, users: Set<Int>?, resolution: Int) throws -> PairDataset {
        var options = PairDatasetOptions(keepTies: true, resolution: resolution)
        options.users = users
        return try PairDataset(directory: directory, split: split, options: options)
    }

    /// Every user's preference weights from the dataset's users.json (the population user 0 always).
    public static func userWeights(directory: String) -> (weights: [Int: PreferenceWeights], note: String?) {
        var weights: [Int: PreferenceWeights] = [SimulatedUser.populationID: .population]
        let path = (directory as NSString).appendingPathComponent(UsersFile.fileName)
        guard FileManager.default.fileExists(atPath: path) else { return (weights, nil) }
        do {
            for u in try UsersFile.read(path) { weights[u.id] = u.weights }
            return (weights, nil)
        } catch {
            return (weights, "\(error)")
        }
    }

    /// Scores the split's pairs in batches: images decoded on all cores, the scorer without a graph.
    /// With `userWeights` nil the oracle is skipped.
    public static func score(_ dataset: PairDataset, scorer: PreferenceScorer, userWeights: [Int: PreferenceWeights]?,
                             batchSize: Int = 64, progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws -> SplitScores {
        guard dataset.resolution == scorer.resolution else {
            throw ScorerError.invalidInput("the dataset is read at \(dataset.resolution)×\(dataset.resolution) but the scorer's image_size is \(scorer.resolution)")
        }
        let stride = 3 * scorer.resolution * scorer.resolution
        var learned: [ScoredPair] = [], oracle: [ScoredPair] = []
        var oracleNote: String?
        var start = 0
        while start < dataset.count {
            let n = min(batchSize, dataset.count - start)
            var winners = [Float](repeating: 0, count: n * stride), losers = winners
            var items = [Result<Row, Error>?](repeating: nil, count: n)
            winners.withUnsafeMutableBufferPointer { w in
                losers.withUnsafeMutableBufferPointer { l in
                    items.withUnsafeMutableBufferPointer { r in
                        let (wb, lb, rb) = (UncheckedSendable(w), UncheckedSendable(l), UncheckedSendable(r))
                        Threading.parallelFor(n) { j in
                            rb.value[j] = Result {
                                let pair = try dataset.pair(at: start + j)
                                let images = try dataset.images(of: pair)
                                dataset.transform.writeModelInput(images.winner, to: wb.value.baseAddress! + j * stride)
                                dataset.transform.writeModelInput(images.loser, to: lb.value.baseAddress! + j * stride)
                                let (rewards, note) = userWeights.map { oracleRewards(pair, images, weights: $0) } ?? (nil, "oracle not requested")
                                return Row(pair: pair, rewards: rewards, note: note)
                            }
                        }
                    }
                }
            }
            let rows = try items.map { item -> Row in
                guard let item else { throw ScorerError.invalidInput("internal: pair slot was not filled") }
                return try item.get()
            }
            let r = scorer.resolution
            let (s1, s2) = try GradMode.withoutGrad {
                try scorer.pairScores(first: Tensor(shape: [n, 3, r, r], data: winners), second: Tensor(shape: [n, 3, r, r], data: losers),
                                      prompts: rows.map(\.pair.prompt))
            }
            let a = s1.toArray(), b = s2.toArray()
            for (j, row) in rows.enumerated() {
                learned.append(ScoredPair(first: Double(a[j]), second: Double(b[j]), isTie: row.pair.isTie))
                if let rw = row.rewards {
                    oracle.append(ScoredPair(first: rw.0, second: rw.1, isTie: row.pair.isTie))
                } else if oracleNote == nil {
                    oracleNote = row.note
                }
            }
            start += n
            progress?(start, dataset.count)
        }
        return SplitScores(learned: learned, oracle: oracleNote == nil ? oracle : nil, oracleNote: oracleNote)
    }

    /// One decoded pair: the pair, its oracle rewards (winner, loser) or why there are none.
    struct Row {
        var pair: PreferencePair
        var rewards: (Double, Double)?
        var note: String?
    }

    /// r_u of both images for the row's user, or why it cannot be computed.
    static func oracleRewards(_ pair: PreferencePair, _ images: (winner: RGBImage, loser: RGBImage),
                              weights: [Int: PreferenceWeights]) -> ((Double, Double)?, String?) {
        guard let w = weights[pair.userID] else {
            return (nil, "user \(pair.userID) is not in the dataset's \(UsersFile.fileName)")
        }
        guard let prompt = try? ShapesPrompt(parsing: pair.prompt) else {
            return (nil, "prompt \"\(pair.prompt)\" (line \(pair.line)) is outside the Shapes grammar")
        }
        do {
            return ((try Reward.reward(Oracle.measure(images.winner), prompt: prompt, weights: w),
                     try Reward.reward(Oracle.measure(images.loser), prompt: prompt, weights: w)), nil)
        } catch {
            return (nil, "the oracle cannot measure line \(pair.line): \(error)")
        }
    }

    /// Agreement of `scorer` on `split`, the tie threshold tuned on `thresholdSplit` (scored as well when
    /// it differs), and the oracle's on the same pairs.
    public static func evaluate(scorer: PreferenceScorer, directory: String, split: String = "validation",
                                users: Set<Int>? = [SimulatedUser.populationID], thresholdSplit: String = "validation",
                                progress: ((_ split: String, _ done: Int, _ total: Int) -> Void)? = nil) throws -> AgreementReport {
        let (weights, usersNote) = userWeights(directory: directory)
        let target = try open(directory: directory, split: split, users: users, resolution: scorer.resolution)
        let scores = try score(target, scorer: scorer, userWeights: weights) { progress?(split, $0, $1) }
        var tuning = scores
        if thresholdSplit != split {
            let other = try open(directory: directory, split: thresholdSplit, users: users, resolution: scorer.resolution)
            tuning = try score(other, scorer: scorer, userWeights: weights) { progress?(thresholdSplit, $0, $1) }
        }
        let learnedThreshold = ScorerAgreement.tuneThreshold(tuning.learned, temperature: 1).threshold
        var oracle: ScorerAgreement?
        var expected: AgreementReport.ExpectedAgreement?
        if let o = scores.oracle, let t = tuning.oracle {
            let threshold = ScorerAgreement.tuneThreshold(t, temperature: Labeler.temperature).threshold
            oracle = ScorerAgreement(pairs: o, temperature: Labeler.temperature, tieThreshold: threshold, thresholdTunedOn: thresholdSplit)
            let T = Labeler.temperature
            if let s = ScorerAgreement.expectedNonTieAgreement(scores.learned, rewards: o, temperature: T),
               let r = ScorerAgreement.expectedNonTieAgreement(o, rewards: o, temperature: T) {
                expected = .init(scorer: s, oracle: r)
            }
        }
        return AgreementReport(
            data: directory, split: split, users: users.map { $0.sorted() },
            scorer: ScorerAgreement(pairs: scores.learned, temperature: 1, tieThreshold: learnedThreshold, thresholdTunedOn: thresholdSplit),
            oracle: oracle, oracleNote: oracle == nil ? (scores.oracleNote ?? tuning.oracleNote ?? usersNote) : nil,
            expected: expected)
    }
}
