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
        chosen by --user, --user-examples or --user-mix, and with no user when none is given.
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

    func validate() throws {
        guard (prompt == nil) != (prompts == nil) else { throw ValidationError("give exactly one of --prompt TEXT or --prompts FILE") }
        guard num >= 1 else { throw ValidationError("--num must be at least 1") }
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1") }
        guard GenerationOptions.Sampler(rawValue: sampler) != nil else { throw ValidationError("--sampler must be ddim or ddpm") }
    }

    func run() throws {
        try CLIError.wrap {
            let list = try prompt.map { [$0] } ?? PromptFile.read(prompts ?? "")
            let model = try TextToImageModel.load(from: self.model)
            let conditioning = try users.conditioning(modelFolder: self.model, required: true)
            let options = GenerationOptions(sampler: GenerationOptions.Sampler(rawValue: sampler) ?? .ddim,
                                            steps: steps, guidance: guidance,
                                                    guidanceRescale: guidanceRescale.value)
            var rowPrompts: [String] = [], generators: [RNG] = []
            for (p, text) in list.enumerated() {
                for k in 0..<num {
                    rowPrompts.append(text)
                    generators.append(RNG(seed: seed &+ UInt64(k), stream: UInt64(p)))
                }
            }
            var bar = ProgressLine(total: rowPrompts.count, label: "sampling")
            let images = try model.generate(prompts: rowPrompts, generators: generators, options: options,
                                        extraTokens: conditioning?.extraTokens, progress: { done, _ in
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
}
