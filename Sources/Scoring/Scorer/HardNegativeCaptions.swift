import Kernels
import ShapesWorld

/// NegCLIP-style hard negatives (Yuksekgonul et al. 2023) for the caption contrastive loss: copies of an
/// image's caption with one attribute replaced (shapes-world.md §7's weak perturbation: shape, colour,
/// background, size or position). In-batch negatives differ from a caption in many attributes at once,
/// so they barely teach a single attribute; these differ in exactly one, which is what a preference
/// between two renders of one prompt turns on. Captions outside the Shapes grammar get none.
public enum HardNegativeCaptions {
    /// `count` one-attribute-off variants of `caption` (drawn independently from `rng`), or nil when the
    /// caption does not parse in the Shapes grammar.
    public static func oneAttributeOff(_ caption: String, count: Int, rng: inout RNG) -> [String]? {
        guard let prompt = try? ShapesPrompt(parsing: caption) else { return nil }
        return (0..<count).map { _ in Captions.perturbed(prompt, strength: .weak, rng: &rng).text }
    }
}
