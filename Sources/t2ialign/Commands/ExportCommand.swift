import ArgumentParser
import Diffusion
import Foundation

/// `t2ialign export --diffusers DIR`: the U-Net as a diffusers model folder.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a model's U-Net in diffusers' folder layout (loadable by UNet2DConditionModel.from_pretrained).",
        discussion: """
        The model folders of t2ialign already use diffusers' pipeline layout (unet/, text_encoder/, scheduler/); \
        this writes the U-Net alone as DIR/config.json + DIR/diffusion_pytorch_model.safetensors, plus \
        DIR/t2ialign_check.safetensors (an input and this engine's output) so that \
        `python Scripts/check_diffusers_export.py DIR` can confirm diffusers computes the same numbers.
        The text encoder loads with transformers' CLIPTextModel.from_pretrained(MODEL/text_encoder).
        """)

    @Option(help: "Model folder to export.") var model = "Models/shapes-base"
    @Option(help: "Output directory for the diffusers U-Net.") var diffusers: String
    @Flag(name: .customLong("no-check"), help: "Don't write t2ialign_check.safetensors.") var noCheck = false

    func run() throws {
        try CLIError.wrap {
            let m = try TextToImageModel.load(from: model)
            try m.exportDiffusersUNet(to: diffusers, check: !noCheck)
            print("wrote \(diffusers)/config.json and diffusion_pytorch_model.safetensors (\(m.unet.parameterCount) parameters)")
            if !noCheck { print("check it with: python Scripts/check_diffusers_export.py \(diffusers)") }
        }
    }
}
