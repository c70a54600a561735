/// Bad input to a noise schedule, a scheduler or the sampling loop. Each message names the field and what to do.
public enum SchedulerError: Error, CustomStringConvertible, Equatable {
    /// A `beta_schedule` name this package does not implement.
    case unknownBetaSchedule(String)
    /// A schedule parameter (`num_train_timesteps`, `beta_start`, …) outside its valid range.
    case invalidParameter(field: String, value: String, expected: String)
    /// `steps` inference steps are impossible with this schedule (too many, or beyond the last timestep).
    case invalidInferenceSteps(steps: Int, reason: String)
    /// `step` was called before `setTimesteps`.
    case timestepsNotSet
    /// A timestep outside 0..<trainTimesteps; `field` says where it came from.
    case timestepOutOfRange(field: String, value: Int, trainTimesteps: Int)
    /// A DDPM step at a timestep that is not in the plan made by `setTimesteps`.
    case timestepNotPlanned(Int, planned: [Int])
    /// Two buffers that must match element for element do not.
    case sizeMismatch(field: String, expected: Int, got: Int)
    /// A step that adds noise was given none.
    case missingVarianceNoise(timestep: Int)
    /// A batch shape with no rows or a non-positive dimension.
    case invalidShape([Int])
    /// The denoiser returned NaN or infinity (a diverged checkpoint, usually).
    case nonFiniteDenoiserOutput(timestep: Int)

    public var description: String {
        switch self {
        case .unknownBetaSchedule(let name):
            return "beta_schedule \"\(name)\" is not implemented; use one of \(BetaSchedule.names.joined(separator: ", "))"
        case .invalidParameter(let field, let value, let expected):
            return "\(field) = \(value) is invalid: it must be \(expected)"
        case .invalidInferenceSteps(let steps, let reason):
            return "cannot sample with \(steps) steps: \(reason)"
        case .timestepsNotSet:
            return "the scheduler has no timesteps yet: call setTimesteps(steps) before step(...)"
        case .timestepOutOfRange(let field, let value, let count):
            return "\(field) = \(value) is outside the training timesteps 0..<\(count)"
        case .timestepNotPlanned(let t, let planned):
            let shown = planned.prefix(8).map(String.init).joined(separator: ", ")
            return "timestep \(t) is not one of the planned timesteps [\(shown)\(planned.count > 8 ? ", …" : "")]; "
                + "step through scheduler.timesteps in order"
        case .sizeMismatch(let field, let expected, let got):
            return "\(field) has \(got) values, expected \(expected); pass buffers of the sample's size"
        case .missingVarianceNoise(let t):
            return "the step at timestep \(t) adds Gaussian noise: pass varianceNoise, or use step(…, rng:)"
        case .invalidShape(let shape):
            return "sample shape \(shape) is invalid: give [rows, channels, height, width] with every dimension ≥ 1"
        case .nonFiniteDenoiserOutput(let t):
            return "the denoiser returned NaN or infinite values at timestep \(t); check the checkpoint (training may have diverged)"
        }
    }
}
