import Foundation

/// Which scorers a command uses, from its `--scorer DIR` and `--oracle` flags, with the errors that say
/// what to pass. `eval` needs exactly one scorer; `score` needs at least one and may print both.
public struct ScorerSelection: Equatable, Sendable {
    /// The learned preference scorer folder (`--scorer DIR`), if chosen.
    public var learnedDirectory: String?
    /// The Shapes-world oracle reward (`--oracle`), if chosen.
    public var oracle: Bool

    public init(learnedDirectory: String?, oracle: Bool) {
        self.learnedDirectory = learnedDirectory
        self.oracle = oracle
    }

    static let choices = "--scorer DIR (a learned preference scorer folder written by `t2ialign scorer train`, "
        + "e.g. Models/shapes-scorer-wide) or --oracle (the Shapes world's pixel oracle reward)"

    /// `eval`: exactly one of `--scorer DIR` and `--oracle`. `--user` picks whose reward the oracle
    /// computes, so it needs `--oracle` (the learned scorer is not personalized).
    public static func forEvaluation(scorer: String?, oracle: Bool, user: Int? = nil) throws -> ScorerSelection {
        let selection = try parse(scorer: scorer, oracle: oracle)
        if selection.learnedDirectory != nil && oracle {
            throw ScorerSelectionError("choose one scorer for the win rate: " + choices + ", not both")
        }
        if let user, selection.learnedDirectory != nil {
            throw ScorerSelectionError("--user \(user) picks the oracle's user, but the learned scorer (--scorer) is not personalized; "
                                       + "drop --user, or use --oracle to score with that user's reward")
        }
        return selection
    }

    /// `score`: `--scorer DIR`, `--oracle`, or both (both scores are printed).
    public static func forScoring(scorer: String?, oracle: Bool) throws -> ScorerSelection {
        try parse(scorer: scorer, oracle: oracle)
    }

    static func parse(scorer: String?, oracle: Bool) throws -> ScorerSelection {
        if let scorer, scorer.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ScorerSelectionError("--scorer needs a folder, e.g. --scorer Models/shapes-scorer-wide")
        }
        guard scorer != nil || oracle else { throw ScorerSelectionError("choose a scorer: " + choices) }
        return ScorerSelection(learnedDirectory: scorer, oracle: oracle)
    }
}

/// A bad combination of scorer flags; the message names the flags and what to pass.
public struct ScorerSelectionError: Error, CustomStringConvertible, Equatable {
    public let description: String
    init(_ description: String) { self.description = description }
}
