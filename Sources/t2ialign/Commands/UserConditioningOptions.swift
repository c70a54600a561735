import ArgumentParser
import Foundation
import Preference
import ShapesWorld

/// The `--user*` options shared by `sample` and `eval`: whom a personalized model generates for.
/// At most one of --user, --user-examples, --user-mix; none means "no user" (zero user tokens) for a
/// personalized model, and nothing at all for a non-personalized one.
struct UserConditioningOptions: ParsableArguments {
    @Option(name: .customLong("user"), help: "Condition on this user: K of their labelled pairs from --user-data (first split of --user-split holding the user); in eval the oracle also scores with this user's weights.")
    var user: Int?
    @Option(name: .customLong("user-examples"), help: "A JSONL file of K labelled pairs in the dataset row format (image paths relative to the file).")
    var userExamples: String?
    @Option(name: .customLong("user-mix"), help: "Interpolate users' embeddings, e.g. 41:0.5,44:0.5 (weights normalised to sum to 1).")
    var userMix: String?
    @Option(name: .customLong("user-data"), help: "Dataset folder holding the users' pairs (and users.json for the oracle).")
    var userData = "cache/shapes"
    @Option(name: .customLong("user-split"), help: "Split(s) to take a user's pairs from, comma-separated, first match wins.")
    var userSplit = "heldout_train,train"
    @Option(name: .customLong("user-shots"), help: "K: pairs per embedding (default: the model's).")
    var userShots: Int?
    @Flag(name: .customLong("no-user-tokens"), help: "Generate without user tokens (a personalized model's no-user condition) while eval's oracle still scores for --user / --user-mix: the control that shows what the tokens add.")
    var noUserTokens = false

    func validate() throws {
        let chosen = [user != nil, userExamples != nil, userMix != nil].filter { $0 }.count
        guard chosen <= 1 else { throw ValidationError("give at most one of --user, --user-examples, --user-mix") }
        if let k = userShots { guard k >= 1 else { throw ValidationError("--user-shots must be at least 1") } }
        if noUserTokens && user == nil && userMix == nil {
            throw ValidationError("--no-user-tokens is a control for --user or --user-mix (whose oracle then scores images made without user tokens); give one of them")
        }
        if let mix = userMix {
            do { _ = try UserMix(parsing: mix) } catch { throw ValidationError("\(error)") }
        }
    }

    var source: UserSource {
        get throws {
            if let user { return .user(user) }
            if let userExamples { return .examples(file: userExamples) }
            if let userMix { return .mix(try UserMix(parsing: userMix)) }
            return .none
        }
    }

    var splits: [String] { userSplit.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }

    /// The conditioning for the model folder at `path`: the chosen user's tokens for a personalized model
    /// (zero tokens when no user is chosen), nil for a model without user_projection/ — where choosing a
    /// user is an error when `required` (sample), and ignored otherwise (eval's baseline). Pass
    /// `.extraTokens(for: model)` to `generate` / `Evaluator.extraTokensA/B`.
    func conditioning(modelFolder path: String, required: Bool) throws -> UserConditioning? {
        let chosen = noUserTokens ? .none : try source
        guard PersonalizedModelParts.exists(in: path) else {
            // Asking a non-personalized model for a user: load() throws the error that says so.
            if required && chosen != .none { _ = try PersonalizedModelParts.load(modelDirectory: path) }
            return nil
        }
        let parts = try PersonalizedModelParts.load(modelDirectory: path)
        let conditioning = try UserConditioning.make(parts: parts, source: chosen, data: userData, splits: splits, shots: userShots)
        print("\(path): conditioned on \(conditioning.description)")
        return conditioning
    }

    /// The oracle's preference weights for the chosen user or mixture (from --user-data's users.json);
    /// nil for the population user (no user, or --user-examples, whose user the oracle cannot know).
    func oracleWeights() throws -> (weights: PreferenceWeights, description: String)? {
        switch try source {
        case .none, .examples: return nil
        case .user(let id):
            guard id != SimulatedUser.populationID else { return nil }
            let oracle = try OracleUser.scorer(user: id, data: userData)
            return (oracle.weights, oracle.userDescription)
        case .mix(let mix):
            let path = URL(fileURLWithPath: userData).appendingPathComponent(UsersFile.fileName).path
            return (try mix.mixedWeights(from: UsersFile.read(path)), "user mix \(mix.description)")
        }
    }
}
