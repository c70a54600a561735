import Autograd
import Files
import Foundation
import Kernels
import NN

/// Writes the U-Net in diffusers' model folder layout (config.json + diffusion_pytorch_model.safetensors), so
/// `UNet2DConditionModel.from_pretrained(DIR)` loads it — the path to GPUs and multi-node training.
/// With `check`, it also writes `t2ialign_check.safetensors`: a fixed input and this engine's output for it,
/// which Scripts/check_diffusers_export.py compares with diffusers' output.
extension TextToImageModel {
    public func exportDiffusersUNet(to directory: String, check: Bool = true) throws {
        let dir = URL(fileURLWithPath: directory)
        try SafeTensors.write(unet.stateDict(), metadata: ["format": "pt"],
                              to: dir.appendingPathComponent("diffusion_pytorch_model.safetensors").path)
        try AtomicFile.write(unet.config.jsonData(), to: dir.appendingPathComponent("config.json").path)
        guard check else { return }
        var rng = RNG(seed: 2024)
        let r = resolution
        let sample = Tensor.randn([2, unet.config.inChannels, r, r], rng: &rng)
        let timesteps = Tensor(shape: [2], data: [10, 700])
        let context = try GradMode.withoutGrad { try encode(["a large red circle on a blue background", ""]) }
        let output = try GradMode.withoutGrad { try unet(sample, timesteps: timesteps.toArray(), context: context) }
        try SafeTensors.write(["sample": sample, "timesteps": timesteps, "encoder_hidden_states": context, "output": output],
                              metadata: ["purpose": "t2ialign export check: diffusers must reproduce `output`"],
                              to: dir.appendingPathComponent("t2ialign_check.safetensors").path)
    }
}
