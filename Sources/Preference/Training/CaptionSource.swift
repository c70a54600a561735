import Kernels
import ShapesWorld

/// Where DCPO's per-image captions come from: the dataset's caption_0/caption_1, or one of the dual-caption
/// strategies (specs/shapes-world.md §7) applied to the pair's prompt and truthful captions.
public enum CaptionSource: Equatable, Sendable {
    case dataset
    case strategy(CaptionStrategy)

    public static let names = ["dataset", "captioning", "perturb-weak", "perturb-medium", "perturb-strong", "hybrid"]

    public init?(name: String) {
        switch name {
        case "dataset": self = .dataset
        case "captioning": self = .strategy(.captioning)
        case "perturb-weak": self = .strategy(.perturbation(.weak))
        case "perturb-medium": self = .strategy(.perturbation(.medium))
        case "perturb-strong": self = .strategy(.perturbation(.strong))
        case "hybrid": self = .strategy(.hybrid(.medium))
        default: return nil
        }
    }

    /// (winner caption, loser caption) for one pair. `prompt` is the pair's prompt; the truthful captions
    /// are the dataset's caption columns after the winner-first swap.
    func captions(prompt: String, winnerCaption: String?, loserCaption: String?, line: Int,
                  rng: inout RNG) throws -> (String, String) {
        switch self {
        case .dataset:
            guard let w = winnerCaption, let l = loserCaption else {
                throw PreferenceTrainingError.data("line \(line): DCPO needs caption_0 and caption_1 (or pass --captions perturb-medium, which needs only the prompt)")
            }
            return (w, l)
        case .strategy(let s):
            if case .perturbation = s {
                return try Captions.pair(strategy: s, prompt: prompt, preferredTruthful: prompt, otherTruthful: prompt, rng: &rng)
            }
            guard let w = winnerCaption, let l = loserCaption else {
                throw PreferenceTrainingError.data("line \(line): the \(s) caption strategy needs truthful captions in caption_0/caption_1")
            }
            return try Captions.pair(strategy: s, prompt: prompt, preferredTruthful: w, otherTruthful: l, rng: &rng)
        }
    }
}
