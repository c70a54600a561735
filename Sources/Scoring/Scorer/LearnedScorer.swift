import Autograd
import Datasets
import Foundation
import ImageIO

/// The learned preference scorer as an `ImageScorer`, for `t2ialign eval --scorer DIR` and `score`.
/// Images of any size go through the dataset transform (shorter side resized to the scorer's image_size,
/// centre crop), then the scorer runs without a graph in batches.
public final class LearnedScorer: ImageScorer {
    public let scorer: PreferenceScorer
    public let directory: String
    public let batchSize: Int
    /// The folder's agreement.json (written by `t2ialign scorer train`), nil when it has none.
    public let heldOutAgreement: AgreementReport?
    let transform: ImageTransform

    public init(scorer: PreferenceScorer, directory: String, agreement: AgreementReport? = nil, batchSize: Int = 64) throws {
        self.scorer = scorer
        self.directory = directory
        heldOutAgreement = agreement
        self.batchSize = max(1, batchSize)
        transform = try ImageTransform(resolution: scorer.resolution)
    }

    /// Loads a scorer folder and its agreement.json when present (see `PreferenceScorer.load(from:)` and
    /// `AgreementReport.load(fromScorerFolder:)` for their errors).
    public convenience init(directory: String) throws {
        let scorer = try PreferenceScorer.load(from: directory)
        try self.init(scorer: scorer, directory: directory, agreement: AgreementReport.load(fromScorerFolder: directory))
    }

    public var name: String { "learned preference scorer (\(directory))" }
    public var fingerprint: String { String(format: "weights %016llx", scorer.weightsFingerprint) }
    public var unit: String {
        "scale × cosine (PickScore convention: learned scale \(String(format: "%.1f", Double(scorer.scale().item()))) × cos(image, prompt), within ±\(Int(scorer.config.maxLogitScale)))"
    }

    public func scores(images: [RGBImage], prompts: [String]) throws -> [Double] {
        guard images.count == prompts.count else {
            throw ScorerError.invalidInput("\(images.count) images for \(prompts.count) prompts; give one prompt per image")
        }
        let r = scorer.resolution, stride = 3 * r * r
        var out: [Double] = []
        out.reserveCapacity(images.count)
        var start = 0
        while start < images.count {
            let n = min(batchSize, images.count - start)
            var pixels = [Float](repeating: 0, count: n * stride)
            pixels.withUnsafeMutableBufferPointer { p in
                for j in 0..<n { transform.writeModelInput(images[start + j], to: p.baseAddress! + j * stride) }
            }
            let s = try GradMode.withoutGrad {
                try scorer.scores(pixels: Tensor(shape: [n, 3, r, r], data: pixels), prompts: Array(prompts[start..<(start + n)]))
            }
            out += s.toArray().map(Double.init)
            start += n
        }
        return out
    }
}
