import Kernels

/// Where pretraining gets captioned images: a batch of `count` images as CHW floats in [-1, 1]
/// ([count, 3, R, R], row-major) with one caption each.
///
/// Sources are deterministic in `rng`, which the caller owns and checkpoints, so a resumed run sees
/// exactly the batches an uninterrupted one would have seen.
public protocol CaptionedImageSource {
    /// Image side length of the batches.
    var resolution: Int { get }
    /// One line for model cards and logs ("Shapes world, train prompts, 90% render-good …").
    var summary: String { get }
    func batch(count: Int, rng: inout RNG) throws -> (images: [Float], captions: [String])
}
