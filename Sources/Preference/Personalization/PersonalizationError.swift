/// What can go wrong when personalizing: each case names the input at fault and says what to do.
public enum PersonalizationError: Error, CustomStringConvertible, Equatable {
    /// A user without enough labelled pairs for a K-shot embedding.
    case tooFewPairs(user: Int, have: Int, need: Int, source: String, hint: String)
    /// A user id with no pairs in the data that was searched.
    case unknownUser(id: Int, source: String, available: String)
    /// A malformed `--user-mix` value.
    case invalidUserMix(text: String, reason: String)
    /// A file of user examples that cannot be used.
    case examples(file: String, reason: String)
    /// A model or encoder folder that lacks (or has a broken) personalization part.
    case folder(path: String, reason: String)
    /// A tensor of the wrong shape handed to the encoder or the projection.
    case input(String)
    /// A bad setting (names the flag).
    case invalidSetting(flag: String, reason: String)

    public var description: String {
        switch self {
        case .tooFewPairs(let user, let have, let need, let source, let hint):
            return "user \(user) has \(have) usable labelled pair(s) in \(source), but \(need) are needed; \(hint)"
        case .unknownUser(let id, let source, let available):
            return "user \(id) has no pairs in \(source) (users there: \(available)); pass one of those ids, or the split that holds the user with --user-split"
        case .invalidUserMix(let text, let reason):
            return "--user-mix '\(text)': \(reason); write it as USER:WEIGHT pairs separated by commas, e.g. 41:0.5,44:0.5"
        case .examples(let file, let reason):
            return "\(file): \(reason)"
        case .folder(let path, let reason):
            return "\(path): \(reason)"
        case .input(let why):
            return why
        case .invalidSetting(let flag, let reason):
            return "\(flag) \(reason)"
        }
    }
}

extension PersonalizationError {
    /// "1, 2, 3" or "1…52 (40 users)" for error messages.
    static func describe(ids: [Int]) -> String {
        let ids = ids.sorted()
        if ids.isEmpty { return "none" }
        if ids.count > 8 { return "\(ids[0])…\(ids[ids.count - 1]) (\(ids.count) users)" }
        return ids.map(String.init).joined(separator: ", ")
    }
}
