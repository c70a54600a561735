import ArgumentParser
import Foundation
import ImageIO
import Scoring
import ShapesWorld

/// `t2ialign score`: scores images for a prompt (and a user).
///
/// Scorers are chosen by flags, one or both: `--scorer DIR` (a learned preference scorer folder: the
/// score in scale × cosine) and `--oracle` (the Shapes world's pixel oracle and reward r_u,
/// specs/shapes-world.md §4–§5: measurements, features and reward).
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score images for a prompt: a learned scorer's score and/or the Shapes oracle's measurements and reward.",
        discussion: """
        Choose --scorer DIR, --oracle, or both. The learned score is scale × cosine (PickScore's convention). \
        --user, --dataset and --user-weights choose the oracle's user and need --oracle.
        Examples:
          t2ialign score --scorer Models/shapes-scorer-wide --oracle --prompt "a large red circle at the top left on a blue background" sample.png
          t2ialign score --oracle --prompt "a small blue square on a white background" --user 0 sample.png
        Negative weights: --user-weights -0.5,-1.5,-0.5,-0.5 (or the = form, --user-weights=-0.5,…)
        """
    )

    @Option(help: "A learned preference scorer folder (from `t2ialign scorer train`), e.g. Models/shapes-scorer-wide.")
    var scorer: String?

    @Flag(help: "Score with the Shapes pixel oracle (shapes-world.md §4–§5).")
    var oracle = false

    @Option(help: "The prompt the images were generated for (Shapes grammar for --oracle).")
    var prompt: String

    @Option(help: "The user whose reward to compute: 0 is the population user; others need --dataset.")
    var user: Int?

    @Option(help: "A dataset directory (or its users.json) defining the personal users for --user.")
    var dataset: String?

    @Option(help: "Weights on (vivid, light, gradient, scale), e.g. 1.5,0,-0.5,0, instead of --user.")
    var userWeights: String?

    @Argument(help: "PNG or JPEG images to score.")
    var images: [String]

    func validate() throws {
        do {
            _ = try ScorerSelection.forScoring(scorer: scorer, oracle: oracle)
        } catch let e as ScorerSelectionError {
            throw ValidationError(e.description)
        }
        if !oracle {
            for (flag, given) in [("--user", user != nil), ("--dataset", dataset != nil), ("--user-weights", userWeights != nil)] where given {
                throw ValidationError("\(flag) chooses the oracle's user; add --oracle (the learned scorer is not personalized)")
            }
        }
        if images.isEmpty { throw ValidationError("Give at least one image to score.") }
        if user != nil && userWeights != nil { throw ValidationError("Use --user or --user-weights, not both.") }
        if userWeights != nil && dataset != nil { throw ValidationError("--dataset only applies to --user.") }
    }

    func run() throws {
        try CLIError.wrap {
            let learned = try scorer.map { try LearnedScorer(directory: $0) }
            var oracleSetup: (prompt: ShapesPrompt, weights: PreferenceWeights)?
            if oracle {
                let parsedPrompt = try ShapesPrompt(parsing: prompt)
                let (weights, who) = try resolveWeights()
                oracleSetup = (parsedPrompt, weights)
                print("user: \(who), weights (vivid, light, gradient, scale) = \(weights)")
            }
            print("prompt: \(prompt)")
            if let learned { print("learned scorer: \(learned.directory); unit: \(learned.unit)") }
            var failures = 0
            for path in images {
                do {
                    let image = try ImageFile.read(path)
                    print("\(path) (\(image.width)×\(image.height))")
                    if let learned {
                        let s = try learned.scores(images: [image], prompts: [prompt])[0]
                        print("  learned score \(String(format: "%.3f", s))")
                    }
                    if let o = oracleSetup { try scoreWithOracle(image, source: path, prompt: o.prompt, weights: o.weights) }
                } catch {
                    failures += 1
                    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                }
            }
            if failures > 0 { throw ExitCode.failure }
        }
    }

    /// The weights to use and how to name them.
    func resolveWeights() throws -> (PreferenceWeights, String) {
        if let text = userWeights {
            let parts = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 4, let w = parts as? [Double], w.allSatisfy(\.isFinite) else {
                throw ShapesWorldError.invalidConfiguration(
                    field: "--user-weights", reason: "must be four numbers separated by commas "
                        + "(vivid,light,gradient,scale), e.g. 1.5,0,-0.5,0; got \"\(text)\"")
            }
            return (PreferenceWeights(vivid: w[0], light: w[1], gradient: w[2], scale: w[3]), "custom")
        }
        let id = user ?? SimulatedUser.populationID
        if id == SimulatedUser.populationID && dataset == nil { return (.population, "0 (population)") }
        guard let dataset else {
            throw ShapesWorldError.invalidConfiguration(
                field: "--user", reason: "user \(id) is a personal user: add --dataset DIR (the synthesized "
                    + "dataset whose users.json defines it), or give --user-weights")
        }
        let found = try UsersFile.user(id, in: UsersFile.read(dataset))
        return (found.weights, "\(id)" + (found.archetype.map { " (\($0.rawValue))" } ?? " (population)"))
    }

    func scoreWithOracle(_ image: RGBImage, source path: String, prompt: ShapesPrompt, weights: PreferenceWeights) throws {
        let m = try Oracle.measure(image, source: path)
        let r = Reward.evaluate(m, prompt: prompt, weights: weights)
        func f(_ x: Double) -> String { String(format: "%.3f", x + 0) }  // + 0 prints −0 as 0
        func ok(_ b: Bool) -> String { b ? "ok" : "WRONG" }
        if let s = m.shape {
            print("  shape \(s.kind.rawValue) [\(ok(r.shapeOK))] (fill \(f(s.fillRatio))), colour \(s.colour.rawValue) "
                  + "[\(ok(r.colourOK))], background \(m.background.rawValue) [\(ok(r.backgroundOK))], "
                  + "size \(s.size.rawValue) [\(ok(r.sizeOK))], position \"\(s.position.phrase)\" [\(ok(r.positionOK))]")
        } else {
            print("  no valid shape (mask empty or > 85% of the image); background \(m.background.rawValue)")
        }
        let x = m.features
        print("  features: vivid \(f(x.vivid)) light \(f(x.light)) gradient \(f(x.gradient)) scale \(f(x.scale)) "
              + "clutter \(f(x.clutter)) (\(m.otherComponents) other components) noise \(f(x.noise))")
        print("  reward \(f(r.total)) = attributes \(f(r.total - r.penalty - r.preference)) "
              + "+ penalties \(f(r.penalty)) + preference \(f(r.preference))")
    }
}
