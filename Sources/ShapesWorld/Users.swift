import Foundation
import Kernels

/// The four kinds of personal users (shapes-world.md §5).
public enum Archetype: String, CaseIterable, Sendable, Codable {
    case vividLover = "vivid-lover"
    case darkMinimalist = "dark-minimalist"
    case gradientFan = "gradient-fan"
    case bigAndBright = "big-and-bright"

    /// The archetype's weights on (vivid_f, light_f, gradient_f, scale_f), before per-user noise.
    public var weights: PreferenceWeights {
        switch self {
        case .vividLover: return PreferenceWeights(vivid: 1.5, light: 0, gradient: -0.5, scale: 0)
        case .darkMinimalist: return PreferenceWeights(vivid: -0.5, light: -1.5, gradient: -0.5, scale: -0.5)
        case .gradientFan: return PreferenceWeights(vivid: 0, light: 0.5, gradient: 1.5, scale: 0)
        case .bigAndBright: return PreferenceWeights(vivid: 0.3, light: 1.0, gradient: 0, scale: 1.5)
        }
    }
}

/// One simulated judge: the population user (id 0, no archetype) or a personal user.
public struct SimulatedUser: Sendable, Equatable, Codable {
    public var id: Int
    public var archetype: Archetype?
    public var weights: PreferenceWeights
    /// Held-out users' pairs never appear in training splits.
    public var heldOut: Bool
    /// Pairs this user labels.
    public var pairCount: Int

    public init(id: Int, archetype: Archetype?, weights: PreferenceWeights, heldOut: Bool, pairCount: Int) {
        self.id = id
        self.archetype = archetype
        self.weights = weights
        self.heldOut = heldOut
        self.pairCount = pairCount
    }

    enum CodingKeys: String, CodingKey {
        case id = "user_id", archetype, weights, heldOut = "held_out", pairCount = "pairs"
    }

    public static let populationID = 0

    /// The population user (user_id 0), for non-personalized alignment.
    public static func population(pairCount: Int) -> SimulatedUser {
        SimulatedUser(id: populationID, archetype: nil, weights: .population, heldOut: false, pairCount: pairCount)
    }
}

/// How many personal users there are and how much each labels.
public struct UserPopulationConfig: Sendable, Equatable {
    public var trainingPerArchetype: Int = 10
    public var heldOutPerArchetype: Int = 3
    /// Pairs per user: a Pareto tail with exponent `tailExponent` from `minPairs`, capped at `maxPairs`
    /// (heavy-tailed as real Pick-a-Pic users: most label few, a few label many; median ≈ 1.8·min).
    public var minPairs: Int = 50
    public var maxPairs: Int = 400
    public var tailExponent: Double = 1.2
    /// σ of the Gaussian noise added to each archetype weight.
    public var weightNoise: Double = 0.15

    public init() {}

    public init(trainingPerArchetype: Int, heldOutPerArchetype: Int, minPairs: Int = 50, maxPairs: Int = 400) {
        self.trainingPerArchetype = trainingPerArchetype
        self.heldOutPerArchetype = heldOutPerArchetype
        self.minPairs = minPairs
        self.maxPairs = maxPairs
    }

    /// Throws `invalidConfiguration` naming the field.
    public func validate() throws {
        func bad(_ field: String, _ reason: String) -> ShapesWorldError { .invalidConfiguration(field: field, reason: reason) }
        if trainingPerArchetype < 0 { throw bad("--users-per-archetype", "must be ≥ 0, got \(trainingPerArchetype)") }
        if heldOutPerArchetype < 0 { throw bad("--heldout-per-archetype", "must be ≥ 0, got \(heldOutPerArchetype)") }
        if minPairs < 1 { throw bad("--min-user-pairs", "must be ≥ 1, got \(minPairs)") }
        if maxPairs < minPairs { throw bad("--max-user-pairs", "must be ≥ --min-user-pairs (\(minPairs)), got \(maxPairs)") }
        if !(tailExponent > 0) { throw bad("tail exponent", "must be > 0, got \(tailExponent)") }
        if !(weightNoise >= 0) { throw bad("weight noise", "must be ≥ 0, got \(weightNoise)") }
    }
}

/// The personal users of a dataset (shapes-world.md §5).
public enum UserPopulation {
    /// Personal users with ids 1, 2, …: first the training users (`trainingPerArchetype` of each archetype,
    /// archetype by archetype in the spec's order), then the held-out users likewise. User i draws its
    /// weight noise and pair count from stream i of `rng`.
    public static func make(_ config: UserPopulationConfig, rng: RNG) -> [SimulatedUser] {
        var users: [SimulatedUser] = []
        for heldOut in [false, true] {
            let perArchetype = heldOut ? config.heldOutPerArchetype : config.trainingPerArchetype
            for archetype in Archetype.allCases {
                for _ in 0..<perArchetype {
                    let id = users.count + 1
                    var r = rng.derived(stream: UInt64(id))
                    let base = archetype.weights
                    let noise = r.normal(count: 4, std: Float(config.weightNoise)).map(Double.init)
                    let weights = PreferenceWeights(vivid: base.vivid + noise[0], light: base.light + noise[1],
                                                    gradient: base.gradient + noise[2], scale: base.scale + noise[3])
                    users.append(SimulatedUser(id: id, archetype: archetype, weights: weights, heldOut: heldOut,
                                               pairCount: pairCount(config, rng: &r)))
                }
            }
        }
        return users
    }

    /// min(maxPairs, ⌊minPairs · u^(−1/α)⌋), u uniform in (0, 1].
    static func pairCount(_ config: UserPopulationConfig, rng: inout RNG) -> Int {
        let u = 1 - rng.nextDouble()
        let n = Double(config.minPairs) * pow(u, -1 / config.tailExponent)
        return n >= Double(config.maxPairs) ? config.maxPairs : max(config.minPairs, Int(n))
    }
}
