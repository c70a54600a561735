/// What reading a split found: usable pairs, rows filtered by the format's rules, malformed rows skipped
/// (lenient reading), and the make-up of the usable pairs (users, generators).
public struct DatasetReport: Codable, Sendable, Equatable, CustomStringConvertible {
    public var split: String
    public var file: String
    /// Non-blank lines read.
    public var rows = 0
    /// Pairs the dataset serves (ties included only when kept).
    public var pairs = 0
    /// Ties seen among valid judged rows (dropped unless kept).
    public var ties = 0
    public var tiesKept = false
    /// Rows skipped on purpose: has_label=false, are_different=false, ties (when dropped).
    public var filtered: [FilterReason: Int] = [:]
    /// Malformed rows skipped by lenient reading, per kind.
    public var malformed: [RowDefect: Int] = [:]
    /// The first error of each malformed kind, for the user to look at.
    public var firstErrors: [RowDefect: String] = [:]
    /// user_id → usable pairs.
    public var pairsPerUser: [Int: Int] = [:]
    /// Generator (model_0/model_1) → images among usable pairs, and → times preferred (ties excluded).
    public var generatorImages: [String: Int] = [:]
    public var generatorWins: [String: Int] = [:]

    public init(split: String, file: String) {
        self.split = split
        self.file = file
    }

    public var users: Int { pairsPerUser.count }
    public var skipped: Int { filtered.values.reduce(0, +) + malformed.values.reduce(0, +) }

    /// Min / median / max usable pairs per user (nil without users). The median of an even count is the
    /// lower middle value (an actual user's count).
    public var pairsPerUserSummary: (min: Int, median: Int, max: Int)? {
        let counts = pairsPerUser.values.sorted()
        guard let lo = counts.first, let hi = counts.last else { return nil }
        return (lo, counts[(counts.count - 1) / 2], hi)
    }

    mutating func countFiltered(_ reason: FilterReason) { filtered[reason, default: 0] += 1 }

    mutating func countMalformed(_ error: RowError) {
        malformed[error.defect, default: 0] += 1
        if firstErrors[error.defect] == nil { firstErrors[error.defect] = error.description }
    }

    mutating func countPair(_ pair: PreferencePair) {
        pairs += 1
        pairsPerUser[pair.userID, default: 0] += 1
        generatorImages[pair.winnerModel, default: 0] += 1
        generatorImages[pair.loserModel, default: 0] += 1
        if !pair.isTie { generatorWins[pair.winnerModel, default: 0] += 1 }
    }

    public var description: String {
        var lines = ["\(split) (\(file)): \(rows) rows → \(pairs) pairs, \(ties) ties (\(tiesKept ? "kept" : "dropped"))"]
        for reason in FilterReason.allCases { if let n = filtered[reason] { lines.append("  skipped \(reason.rawValue): \(n)") } }
        for defect in RowDefect.allCases { if let n = malformed[defect] { lines.append("  skipped malformed, \(defect.rawValue): \(n)") } }
        if let s = pairsPerUserSummary {
            lines.append("  users: \(users), pairs per user min/median/max: \(s.min)/\(s.median)/\(s.max)")
        }
        for model in generatorImages.keys.sorted() {
            lines.append("  generator \(model): \(generatorImages[model] ?? 0) images, preferred \(generatorWins[model] ?? 0) times")
        }
        return lines.joined(separator: "\n")
    }
}

extension RowDefect: CodingKeyRepresentable {}
extension FilterReason: CodingKeyRepresentable {}
