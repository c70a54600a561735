import ArgumentParser
import Foundation
import ShapesWorld

/// `t2ialign data synth`: writes a Shapes-world preference dataset (specs/shapes-world.md).
struct DataSynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Render a Shapes-world preference dataset with simulated users (Pick-a-Pic layout).",
        discussion: """
        Splits: train, validation, test (by a fixed hash of the prompt, so test prompts never reach \
        training), validation_unique and test_unique (one row per prompt), and heldout_train, \
        heldout_validation, heldout_test for the held-out users, whose pairs never appear in the other \
        splits. users.json records every user's preference weights. The same seed writes the same dataset.
        """
    )

    @Option(name: .long, help: "Output dataset directory (new, empty, or an existing dataset to replace).")
    var out: String

    @Option(help: "Random seed; the dataset is a pure function of the seed and the sizes.")
    var seed: UInt64 = 1

    @Option(help: "Image size in pixels (≥ 16).")
    var resolution: Int = 32

    @Option(help: "Pairs labelled by the population user (user_id 0).")
    var populationPairs: Int = SynthesisConfig().populationPairs

    @Option(help: "Training users per archetype (4 archetypes).")
    var usersPerArchetype: Int = UserPopulationConfig().trainingPerArchetype

    @Option(help: "Held-out users per archetype.")
    var heldoutPerArchetype: Int = UserPopulationConfig().heldOutPerArchetype

    @Option(help: "Fewest pairs a personal user labels.")
    var minUserPairs: Int = UserPopulationConfig().minPairs

    @Option(help: "Most pairs a personal user labels (the heavy tail is capped here).")
    var maxUserPairs: Int = UserPopulationConfig().maxPairs

    @Flag(help: "Skip validation_unique / test_unique.")
    var noUniqueSplits = false

    var config: SynthesisConfig {
        var config = SynthesisConfig()
        config.seed = seed
        config.resolution = resolution
        config.populationPairs = populationPairs
        config.users = UserPopulationConfig(trainingPerArchetype: usersPerArchetype, heldOutPerArchetype: heldoutPerArchetype,
                                            minPairs: minUserPairs, maxPairs: maxUserPairs)
        config.uniqueSplits = !noUniqueSplits
        return config
    }

    func validate() throws {
        do { try config.validate() } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        let started = Date()
        let summary = try ShapesSynthesizer.synthesize(config, to: out) { done, total in
            let elapsed = Date().timeIntervalSince(started)
            let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
            FileHandle.standardError.write(Data(String(
                format: "\rsynth: %d/%d pairs  %.0f pairs/s  ETA %.0fs ", done, total,
                Double(done) / max(elapsed, 1e-9), eta).utf8))
        }
        FileHandle.standardError.write(Data("\n".utf8))
        let seconds = Date().timeIntervalSince(started)
        let personal = summary.users.filter { $0.id != SimulatedUser.populationID }
        print("wrote \(summary.directory) in \(String(format: "%.1f", seconds)) s: \(summary.images) images, "
              + "\(summary.rows.values.reduce(0, +)) pairs (\(summary.ties) ties)")
        for split in summary.rows.keys.sorted() { print("  \(split).jsonl: \(summary.rows[split] ?? 0) rows") }
        print("  users: population (user 0) + \(personal.filter { !$0.heldOut }.count) training + "
              + "\(personal.filter(\.heldOut).count) held-out (weights in \(out)/\(UsersFile.fileName))")
    }
}
