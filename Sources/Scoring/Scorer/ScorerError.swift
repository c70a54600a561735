import Foundation

/// Why a scorer folder, config or input cannot be used: which file or field, and what to do.
public enum ScorerError: Error, CustomStringConvertible, LocalizedError, Equatable {
    /// The directory is missing or lacks one of its files.
    case notAScorer(directory: String, reason: String)
    /// config.json is unreadable, malformed, or names an invalid value (`field` is the JSON key path).
    case config(file: String, field: String?, reason: String)
    /// model.safetensors is damaged or does not match the config.
    case weights(file: String, reason: String)
    /// Bad arguments to a scorer call (counts, sizes).
    case invalidInput(String)

    public var description: String {
        switch self {
        case .notAScorer(let dir, let why):
            return "\(dir) is not a preference scorer folder: \(why); pass a folder written by `t2ialign scorer train` "
                + "(model.safetensors, config.json, README.md), e.g. Models/shapes-scorer-wide"
        case .config(let file, let field, let why):
            return "\(file)" + (field.map { ": \"\($0)\"" } ?? "") + " \(why); fix the file or retrain the scorer"
        case .weights(let file, let why):
            return "\(file): \(why)"
        case .invalidInput(let why):
            return why
        }
    }

    public var errorDescription: String? { description }
}
