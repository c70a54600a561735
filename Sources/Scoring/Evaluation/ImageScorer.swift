import ImageIO

/// Anything that scores an image for a prompt, higher meaning preferred: the Shapes-world oracle reward,
/// or the learned preference scorer. `unit` says what the numbers are, since the same scorer is quoted
/// on different scales in different codebases (raw cosine vs. scale × cosine).
public protocol ImageScorer {
    var name: String { get }
    var unit: String { get }
    /// The scorer's measured agreement with held-out labels, when known (a learned scorer folder's
    /// agreement.json); evaluation reports quote it. Nil for the oracle, which defines the rewards.
    var heldOutAgreement: AgreementReport? { get }
    /// What the scores depend on beyond `name` (a learned scorer's weights, the oracle's user weights), so a
    /// resumed evaluation never mixes scores from a scorer folder that was replaced in between.
    var fingerprint: String { get }
    func scores(images: [RGBImage], prompts: [String]) throws -> [Double]
}

extension ImageScorer {
    public var heldOutAgreement: AgreementReport? { nil }
    public var fingerprint: String { name }
}
