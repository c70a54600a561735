import ArgumentParser

/// `--guidance-rescale φ`, shared by `sample` and `eval` (see `ClassifierFreeGuidance.rescale`).
struct GuidanceRescaleOption: ParsableArguments {
    @Option(name: .customLong("guidance-rescale"),
            help: "Guidance rescale φ from 0 (off) to 1: keeps each guided output's std at the conditional one's (Lin et al.; diffusers' guidance_rescale, 0.7 suggested), against over-saturated colours.")
    var phi: Float = 0

    func validate() throws {
        guard phi >= 0 && phi <= 1 else { throw ValidationError("--guidance-rescale must be from 0 (off) to 1") }
    }

    /// For `GenerationOptions.guidanceRescale`: nil when off.
    var value: Float? { phi > 0 ? phi : nil }
}
