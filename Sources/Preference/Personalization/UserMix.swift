import Foundation
import ShapesWorld

/// `--user-mix 41:0.5,44:0.5`: a convex mixture of users. Embeddings (and hence tokens, which are linear
/// in u) are mixed with the weights normalised to sum to 1; the Shapes oracle mixes the users' preference
/// weights the same way, since the reward is linear in them.
public struct UserMix: Equatable, Sendable {
    public let components: [(user: Int, weight: Double)]

    public static func == (a: UserMix, b: UserMix) -> Bool {
        a.components.map(\.user) == b.components.map(\.user) && a.components.map(\.weight) == b.components.map(\.weight)
    }

    public init(parsing text: String) throws {
        func bad(_ why: String) -> PersonalizationError { .invalidUserMix(text: text, reason: why) }
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !text.trimmingCharacters(in: .whitespaces).isEmpty else { throw bad("it is empty") }
        var raw: [(Int, Double)] = []
        for part in parts {
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count == 2 else { throw bad("'\(part)' is not USER:WEIGHT") }
            guard let user = Int(fields[0].trimmingCharacters(in: .whitespaces)) else {
                throw bad("'\(fields[0])' in '\(part)' is not a user id (an integer)")
            }
            guard let weight = Double(fields[1].trimmingCharacters(in: .whitespaces)), weight.isFinite else {
                throw bad("'\(fields[1])' in '\(part)' is not a number")
            }
            guard weight >= 0 else { throw bad("weight \(weight) of user \(user) is negative; weights must be ≥ 0") }
            guard !raw.contains(where: { $0.0 == user }) else { throw bad("user \(user) appears twice") }
            raw.append((user, weight))
        }
        let total = raw.reduce(0) { $0 + $1.1 }
        guard total > 0 else { throw bad("the weights add up to 0") }
        components = raw.map { (user: $0.0, weight: $0.1 / total) }
    }

    /// Σ weight·w_user over the mixed users' oracle weights.
    public func mixedWeights(from users: [SimulatedUser]) throws -> PreferenceWeights {
        var v = 0.0, l = 0.0, g = 0.0, s = 0.0
        for c in components {
            let w = try UsersFile.user(c.user, in: users).weights
            v += c.weight * w.vivid; l += c.weight * w.light; g += c.weight * w.gradient; s += c.weight * w.scale
        }
        return PreferenceWeights(vivid: v, light: l, gradient: g, scale: s)
    }

    public var description: String {
        components.map { "\($0.user):" + String(format: "%.3g", $0.weight) }.joined(separator: ",")
    }
}
