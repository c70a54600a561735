import Foundation

/// Model cards (README.md of a model folder): what the model is, the data, the exact command, the
/// budget and the measured quality. Quality figures are appended by the commands that measure them.
public enum ModelCard {
    public static func pretrained(preset: String, command: String, config: PretrainingConfig, data: String,
                                  predictionType: PredictionType = .epsilon,
                                  finalLoss: Double, seconds: Double, step: Int) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let configJSON = (try? encoder.encode(config)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return """
        # Pretrained text-to-image model (\(config.initModel.map { "continued from `\($0)`" } ?? "`\(preset)`"))

        A pixel-space conditional U-Net (diffusers `UNet2DConditionModel` layout, \(predictionType == .epsilon ? "ε-prediction" : "v-prediction")) with a byte-level
        CLIP-style text encoder (transformers `CLIPTextModel` layout), \(config.initModel.map { "further trained by t2ialign from `\($0)`" } ?? "trained from scratch by t2ialign").

        - **Data**: \(data)
        - **Command**: `\(command)`
        - **Budget**: \(step < config.steps ? "\(step) of \(config.steps) (an intermediate checkpoint)" : "\(config.steps)") steps of batch \(config.batchSize), \(String(format: "%.1f", seconds / 60)) min wall time
          for the last (or only) segment of the run, on the machine that trained it
        - **Training loss** (last step, noisy): \(String(format: "%.4f", finalLoss))
        - **Weights**: EMA (decay \(config.emaDecay)) in `unet/` and `text_encoder/`; schedule in `scheduler/`

        ## Training configuration
        ```json
        \(configJSON)
        ```
        """
    }
}
