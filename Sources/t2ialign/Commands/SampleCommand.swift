import ArgumentParser
import Diffusion
import Foundation
import ImageIO
import Kernels
import NN
import Preference

/// `t2ialign sample`: generates PNGs from a model folder.
struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Generate images from a model to PNG files.",
        discussion: """
        Image k of prompt p starts from the noise of seed + k on stream p, so the same seed gives the same \
        initial noise to every model (compare models fairly by keeping --seed).
        With one prompt and one image, --out may name a .png file; otherwise --out is a directory that gets \
        one PNG per image and grid.png with the captions.

        Examples:
          t2ialign sample --model Models/shapes-base --prompt "a large red circle on a blue background" --out red.png
          t2ialign sample --model Models/shapes-base --prompts prompts.txt --num 4 --out samples/
          t2ialign sample --model runs/dpo-personalized/model --user 41 --prompts prompts.txt --out samples-41/

        A personalized model (one with user_projection/, from `train --personalized`) generates for the user \
        chosen by --user, --user-examples or --user-mix, and with no user when none is given. --grid-users \
        41,44,47,50 instead writes user-grid.png: one row per user (after a row without a user), the same \
        prompts and initial noise in every row, so the rows differ only by whom the model generates for.
        """)

    @Option(help: "Model folder (e.g. Models/shapes-base or RUN/model).") var model: String
    @Option(help: "One prompt.") var prompt: String?
    @Option(help: "A text file with one prompt per line.") var prompts: String?
    @Option(help: "Images per prompt.") var num = 1
    @Option(help: "Seed of the initial noise.") var seed: UInt64 = 0
    @Option(help: "Sampler steps.") var steps = 50
    @Option(help: "Classifier-free guidance scale (1 = none).") var guidance: Float = 3
    @OptionGroup var guidanceRescale: GuidanceRescaleOption
    @Option(help: "ddim or ddpm.") var sampler = "ddim"
    @Option(help: "A .png file (one image) or a directory.") var out = "samples"
    @Flag(name: .customLong("no-grid"), help: "Don't write grid.png.") var noGrid = false
    @OptionGroup(title: "For whom (personalized models)") var users: UserConditioningOptions
    @Option(name: .customLong("grid-users"), help: "Personalized models: comma-separated user ids from --user-data, one row each in --out/user-grid.png.")
    var gridUsers: String?

    func validate() throws {
        guard (prompt == nil) != (prompts == nil) else { throw ValidationError("give exactly one of --prompt TEXT or --prompts FILE") }
        guard num >= 1 else { throw ValidationError("--num must be at least 1") }
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1") }
        guard GenerationOptions.Sampler(rawValue: sampler) != nil else { throw ValidationError("--sampler must be ddim or ddpm") }
        if let gridUsers {
            guard (try? users.source) == UserSource.none else { throw ValidationError("--grid-users chooses the users itself: drop --user, --user-examples and --user-mix") }
            guard (try? UserSelection.parse(gridUsers)).flatMap({ $0 }) != nil else {
                throw ValidationError("--grid-users takes comma-separated user ids, e.g. 41,44,47,50; got '\(gridUsers)'")
            }
            guard !out.lowercased().hasSuffix(".png") else { throw ValidationError("--grid-users writes into a directory: give --out DIR") }
        }
    }

    func run() throws {
        try CLIError.wrap {
            let list = try prompt.map { [$0] } ?? PromptFile.read(prompts ?? "")
            let model = try TextToImageModel.load(from: self.model)
            let options = GenerationOptions(sampler: GenerationOptions.Sampler(rawValue: sampler) ?? .ddim,
                                            steps: steps, guidance: guidance,
                                                    guidanceRescale: guidanceRescale.value)
            if let gridUsers {
                try writeUserGrid(model: model, prompts: list, users: UserSelection.parse(gridUsers) ?? [], options: options)
                return
            }
            let conditioning = try users.conditioning(modelFolder: self.model, required: true)
            var rowPrompts: [String] = [], generators: [RNG] = []
            for (p, text) in list.enumerated() {
                for k in 0..<num {
                    rowPrompts.append(text)
                    generators.append(RNG(seed: seed &+ UInt64(k), stream: UInt64(p)))
                }
            }
            var bar = ProgressLine(total: rowPrompts.count, label: "sampling")
            let images = try model.generate(prompts: rowPrompts, generators: generators, options: options,
                                        extraTokens: conditioning?.extraTokens(for: model), progress: { done, _ in
                bar.update(step: done)
            })
            if out.lowercased().hasSuffix(".png") {
                guard images.count == 1 else {
                    throw CLIError("--out \(out) names one file but \(images.count) images were made; pass a directory")
                }
                try ImageFile.writePNG(images[0], to: out)
                print("wrote \(out)")
                return
            }
            for (i, image) in images.enumerated() {
                try ImageFile.writePNG(image, to: URL(fileURLWithPath: out).appendingPathComponent(String(format: "%04d.png", i)).path)
            }
            print("wrote \(images.count) PNGs to \(out)/")
            if !noGrid {
                let grid = ImageGrid.make(cells: zip(images, rowPrompts).map { ($0, $1) }, columns: max(num, min(8, images.count)), cellScale: 3)
                let path = URL(fileURLWithPath: out).appendingPathComponent("grid.png").path
                try ImageFile.writePNG(grid, to: path)
                print("wrote \(path)")
            }
        }
    }

    /// One row per user (the first without a user) over the same prompts and initial noise → --out/user-grid.png.
    func writeUserGrid(model: TextToImageModel, prompts list: [String], users ids: [Int], options: GenerationOptions) throws {
        let parts = try PersonalizedModelParts.load(modelDirectory: self.model)
        let simulated = try SimulatedUsersFile.read(data: users.userData)
        var cells: [(RGBImage, caption: String)] = [], labels: [String] = []
        let generators = list.indices.map { RNG(seed: seed, stream: UInt64($0)) }
        for source in [UserSource.none] + ids.map(UserSource.user) {
            let conditioning = try UserConditioning.make(parts: parts, source: source, data: users.userData,
                                                         splits: users.splits, shots: users.userShots)
            var bar = ProgressLine(total: list.count, label: "sampling (\(conditioning.label))")
            let images = try model.generate(prompts: list, generators: generators, options: options,
                                            extraTokens: conditioning.extraTokens(for: model), progress: { done, _ in bar.update(step: done) })
            let folder = URL(fileURLWithPath: out).appendingPathComponent(conditioning.label.replacingOccurrences(of: " ", with: "-"))
            for (i, image) in images.enumerated() {
                try ImageFile.writePNG(image, to: folder.appendingPathComponent(String(format: "%04d.png", i)).path)
            }
            cells += images.map { ($0, caption: "") }
            if case .user(let id) = source, let archetype = simulated?.first(where: { $0.id == id })?.archetype {
                labels.append("\(conditioning.label) (\(archetype.rawValue))")
            } else {
                labels.append(conditioning.label)
            }
        }
        let grid = ImageGrid.make(cells: cells, columns: list.count, cellScale: 3, rowLabels: labels, columnLabels: list,
                                  title: "\(self.model): the same prompts and noise for each user")
        let path = URL(fileURLWithPath: out).appendingPathComponent("user-grid.png").path
        try ImageFile.writePNG(grid, to: path)
        print("wrote \(path) (\(labels.count) rows × \(list.count) prompts; each row's PNGs in its own folder)")
    }
}
