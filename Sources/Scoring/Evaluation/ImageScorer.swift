import ImageIO

/// Anything that scores an image for a prompt, higher meaning preferred: the Shapes-world oracle reward,
/// or the learned preference scorer. `unit` says what the numbers are, since the same scorer is quoted
/// on different scales in different codebases (raw cosine vs. scale × cosine).
public protocol ImageScorer {
    var name: String { get }
    var unit: String { get }
    func scores(images: [RGBImage], prompts: [String]) throws -> [Double]
}
