import Foundation
import ImageIO
import ShapesWorld

/// The Shapes world's ground-truth scorer: the reward r_u of shapes-world.md §5, measured from pixels by
/// the §4 oracle, for one user's preference weights.
public struct OracleRewardScorer: ImageScorer {
    public let weights: PreferenceWeights
    public let userDescription: String

    public init(weights: PreferenceWeights = .population, userDescription: String = "population user 0") {
        self.weights = weights
        self.userDescription = userDescription
    }

    public var name: String { "oracle reward (\(userDescription))" }
    public var fingerprint: String { "\(name) \(weights)" }
    public var unit: String { "r_u of shapes-world.md §5 (correctness points 0–7, minus clutter/noise penalties, plus w_u·features)" }

    public func scores(images: [RGBImage], prompts: [String]) throws -> [Double] {
        try zip(images, prompts).map { image, prompt in
            try Reward.reward(Oracle.measure(image), prompt: ShapesPrompt(parsing: prompt), weights: weights)
        }
    }

    /// Which attributes an image gets right (nil when the prompt is outside the Shapes grammar).
    public static func correctness(_ image: RGBImage, prompt: String) -> AttributeCorrectness? {
        guard let p = try? ShapesPrompt(parsing: prompt), let m = try? Oracle.measure(image) else { return nil }
        let b = Reward.evaluate(m, prompt: p, weights: .population)
        return AttributeCorrectness(shape: b.shapeOK, colour: b.colourOK, background: b.backgroundOK,
                                    size: p.size == nil ? nil : b.sizeOK, position: p.position == nil ? nil : b.positionOK)
    }
}

/// Per image: whether the oracle measures the prompt's attributes (size/position nil when the prompt names none).
public struct AttributeCorrectness: Codable, Sendable, Equatable {
    public var shape: Bool, colour: Bool, background: Bool
    public var size: Bool?, position: Bool?
}

/// Shares of images with each attribute right (size and position over the prompts that name them).
public struct CorrectnessRates: Codable, Sendable, Equatable {
    public var shape: Double?, colour: Double?, background: Double?, size: Double?, position: Double?
    public var images: Int

    public init(_ items: [AttributeCorrectness]) {
        func rate(_ values: [Bool]) -> Double? {
            values.isEmpty ? nil : Double(values.filter { $0 }.count) / Double(values.count)
        }
        shape = rate(items.map(\.shape))
        colour = rate(items.map(\.colour))
        background = rate(items.map(\.background))
        size = rate(items.compactMap(\.size))
        position = rate(items.compactMap(\.position))
        images = items.count
    }

    public var summary: String {
        func pct(_ v: Double?) -> String { v.map { String(format: "%.1f%%", 100 * $0) } ?? "n/a" }
        return "shape \(pct(shape)), colour \(pct(colour)), background \(pct(background)), size \(pct(size)), position \(pct(position)) (\(images) images)"
    }
}
