import Foundation

/// How β_t grows over the training timesteps; names and formulas are diffusers' `beta_schedule`.
public enum BetaSchedule: Sendable, Equatable {
    /// β linear in t: DDPM's schedule, diffusers' default range 1e-4…0.02 (the project's models use it).
    case linear(betaStart: Double = 0.0001, betaEnd: Double = 0.02)
    /// √β linear in t, squared: Stable Diffusion's schedule and range 0.00085…0.012.
    case scaledLinear(betaStart: Double = 0.00085, betaEnd: Double = 0.012)
    /// Nichol & Dhariwal's cosine ᾱ(t) = cos²((t + 0.008)/1.008 · π/2), β capped at `maxBeta`.
    case squaredCosCapV2(maxBeta: Double = 0.999)

    /// diffusers' config names, in the order of the cases.
    public static let names = ["linear", "scaled_linear", "squaredcos_cap_v2"]

    /// The name diffusers' scheduler_config.json uses.
    public var name: String {
        switch self {
        case .linear: return "linear"
        case .scaledLinear: return "scaled_linear"
        case .squaredCosCapV2: return "squaredcos_cap_v2"
        }
    }

    /// From a config's `beta_schedule` name; a missing start/end takes this package's default for that schedule
    /// (which for `scaled_linear` is Stable Diffusion's range, not diffusers' constructor default 1e-4…0.02).
    public init(name: String, betaStart: Double? = nil, betaEnd: Double? = nil) throws {
        switch name {
        case "linear":
            self = .linear(betaStart: betaStart ?? 0.0001, betaEnd: betaEnd ?? 0.02)
        case "scaled_linear":
            self = .scaledLinear(betaStart: betaStart ?? 0.00085, betaEnd: betaEnd ?? 0.012)
        case "squaredcos_cap_v2":
            self = .squaredCosCapV2()
        default:
            throw SchedulerError.unknownBetaSchedule(name)
        }
    }
}

/// The forward (noising) process of a DDPM: β_t and ᾱ_t = Π_{s≤t}(1 − β_s) for t in 0..<trainTimesteps.
///
/// The numbers are diffusers' to the last bit: diffusers keeps β and α = 1 − β as float32 tensors and
/// torch's CPU cumprod accumulates in double before rounding, so β and α are rounded to Float here and ᾱ is
/// the Double product of the Float α's (`Float(alphasCumprod[t])` equals diffusers' value exactly). Rounding
/// β matters: the cosine schedule's capped β = 0.999 is 0.99900001 in float32, which moves its last ᾱ by
/// 1.3e-5 relative.
public struct NoiseSchedule: Sendable, Equatable {
    public let betaSchedule: BetaSchedule
    public let trainTimesteps: Int
    /// β_t as float32 (what diffusers holds).
    public let betas: [Float]
    /// ᾱ_t, the Double product of the float32 α's.
    public let alphasCumprod: [Double]
    /// ᾱ_t rounded to float32: the value diffusers' schedulers start their float32 arithmetic from.
    public let alphasCumprodFloat: [Float]
    /// What the denoiser trained on this schedule predicts (training target and sampler input).
    public var predictionType: PredictionType

    public init(_ betaSchedule: BetaSchedule = .linear(), trainTimesteps: Int = 1000,
                predictionType: PredictionType = .epsilon) throws {
        guard trainTimesteps >= 1 else {
            throw SchedulerError.invalidParameter(field: "num_train_timesteps", value: "\(trainTimesteps)",
                                                  expected: "at least 1 (the models use 1000)")
        }
        let betas: [Float]
        switch betaSchedule {
        case .linear(let start, let end):
            try Self.checkBeta("beta_start", start)
            try Self.checkBeta("beta_end", end)
            betas = Self.torchLinspace(Float(start), Float(end), count: trainTimesteps)
        case .scaledLinear(let start, let end):
            try Self.checkBeta("beta_start", start)
            try Self.checkBeta("beta_end", end)
            betas = Self.torchLinspace(Float(start.squareRoot()), Float(end.squareRoot()), count: trainTimesteps)
                .map { $0 * $0 }
        case .squaredCosCapV2(let maxBeta):
            try Self.checkBeta("max_beta", maxBeta)
            betas = Self.cosineBetas(count: trainTimesteps, maxBeta: maxBeta)
        }
        // Float rounding could push a β to 0 or 1 (ᾱ would stop decaying or hit 0 and x0 = x/√ᾱ divides by 0).
        if let t = betas.firstIndex(where: { !($0 > 0 && $0 < 1) }) {
            throw SchedulerError.invalidParameter(field: "betas[\(t)]", value: "\(betas[t])",
                                                  expected: "strictly between 0 and 1; choose beta_start/beta_end in (0, 1)")
        }
        var product = 1.0
        var cumprod = [Double](repeating: 0, count: trainTimesteps)
        for t in 0..<trainTimesteps {
            product *= Double(Float(1) - betas[t])
            cumprod[t] = product
        }
        self.betaSchedule = betaSchedule
        self.trainTimesteps = trainTimesteps
        self.betas = betas
        self.alphasCumprod = cumprod
        self.alphasCumprodFloat = cumprod.map { Float($0) }
        self.predictionType = predictionType
    }

    private static func checkBeta(_ field: String, _ value: Double) throws {
        guard value.isFinite, value > 0, value < 1 else {
            throw SchedulerError.invalidParameter(field: field, value: "\(value)", expected: "strictly between 0 and 1")
        }
    }

    /// torch.linspace(start, end, count, dtype=float32) exactly: a float32 step, each value computed in double
    /// from the nearer end and rounded once (measured identical to torch for both diffusers ranges).
    static func torchLinspace(_ start: Float, _ end: Float, count: Int) -> [Float] {
        guard count > 1 else { return [start] }
        let step = Double((end - start) / Float(count - 1))
        let half = count / 2
        return (0..<count).map { i in
            i < half ? Float(Double(start) + step * Double(i)) : Float(Double(end) - step * Double(count - 1 - i))
        }
    }

    /// diffusers' betas_for_alpha_bar (cosine): β_i = min(1 − ᾱ((i+1)/T)/ᾱ(i/T), maxBeta), in Double.
    static func cosineBetas(count: Int, maxBeta: Double) -> [Float] {
        func alphaBar(_ t: Double) -> Double {
            let c = cos((t + 0.008) / 1.008 * Double.pi / 2)
            return c * c
        }
        return (0..<count).map { i in
            let t1 = Double(i) / Double(count), t2 = Double(i + 1) / Double(count)
            return Float(min(1 - alphaBar(t2) / alphaBar(t1), maxBeta))
        }
    }

    /// Throws unless 0 ≤ t < trainTimesteps.
    func checkTimestep(_ t: Int, field: String) throws {
        guard t >= 0, t < trainTimesteps else {
            throw SchedulerError.timestepOutOfRange(field: field, value: t, trainTimesteps: trainTimesteps)
        }
    }
}
