/// What the denoiser predicts (diffusers' `prediction_type`), stored in scheduler_config.json.
///
/// - `epsilon`: the added noise ε (DDPM, Stable Diffusion 1.x).
/// - `v_prediction`: v = √ᾱ_t·ε − √(1 − ᾱ_t)·x_0 (Salimans & Ho 2022; Stable Diffusion 2.x). At high noise v
///   is nearly −x_0, so the network must produce the image's global content (its colours, the background)
///   from the prompt, where ε-prediction can almost copy its input.
public enum PredictionType: String, Sendable, Equatable, Codable, CaseIterable {
    case epsilon
    case vPrediction = "v_prediction"

    /// The diffusers name (`epsilon`, `v_prediction`).
    public var name: String { rawValue }

    public init(name: String) throws {
        guard let p = PredictionType(rawValue: name) else {
            throw SchedulerError.invalidParameter(field: "prediction_type", value: "\"\(name)\"",
                                                  expected: "one of \(PredictionType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self = p
    }
}
