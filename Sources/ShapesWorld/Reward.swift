import Foundation

/// A user's weights on the four preference features (vivid_f, light_f, gradient_f, scale_f).
public struct PreferenceWeights: Sendable, Equatable, Codable, CustomStringConvertible {
    public var vivid: Double
    public var light: Double
    public var gradient: Double
    public var scale: Double

    public init(vivid: Double, light: Double, gradient: Double, scale: Double) {
        self.vivid = vivid
        self.light = light
        self.gradient = gradient
        self.scale = scale
    }

    public var vector: SIMD4<Double> { SIMD4(vivid, light, gradient, scale) }

    /// The population user's (user_id 0) weights.
    public static let population = PreferenceWeights(vivid: 0.6, light: 0.2, gradient: -0.3, scale: 0.2)

    public var description: String {
        [vivid, light, gradient, scale].map { String(format: "%g", $0 + 0) }.joined(separator: ",")  // + 0: no "-0"
    }
}

/// The reward r_u(x, c) of shapes-world.md §5 and its terms.
public struct RewardBreakdown: Sendable, Equatable {
    public var shapeOK: Bool
    public var colourOK: Bool
    public var backgroundOK: Bool
    public var sizeOK: Bool
    public var positionOK: Bool
    /// −0.4·clutter_f − 12·noise_f.
    public var penalty: Double
    /// w_u · (vivid_f, light_f, gradient_f, scale_f).
    public var preference: Double
    public var total: Double
}

/// r_u(x, c) = 2·[shape ok] + 2·[colour ok] + 1·[bg ok] + 1·[size ok] + 1·[position ok]
///             − 0.4·clutter_f − 12·noise_f + w_u · (vivid_f, light_f, gradient_f, scale_f).
/// Without a valid shape every `ok` is 0 (the background's too, as §4.2 says). With a valid shape,
/// [size ok] and [position ok] are 1 when the prompt names no size / position.
public enum Reward {
    public static func evaluate(_ m: OracleMeasurement, prompt: ShapesPrompt, weights: PreferenceWeights) -> RewardBreakdown {
        let s = m.shape
        let shapeOK = s?.kind == prompt.shape
        let colourOK = s?.colour == prompt.colour
        let backgroundOK = s != nil && m.background == prompt.background
        let sizeOK = s != nil && (prompt.size == nil || s?.size == prompt.size)
        let positionOK = s != nil && (prompt.position == nil || s?.position == prompt.position)
        var total = 0.0
        if shapeOK { total += 2 }
        if colourOK { total += 2 }
        if backgroundOK { total += 1 }
        if sizeOK { total += 1 }
        if positionOK { total += 1 }
        let penalty = -0.4 * m.features.clutter - 12 * m.features.noise
        let preference = (weights.vector * m.features.preference).sum()
        total += penalty + preference
        return RewardBreakdown(shapeOK: shapeOK, colourOK: colourOK, backgroundOK: backgroundOK, sizeOK: sizeOK,
                               positionOK: positionOK, penalty: penalty, preference: preference, total: total)
    }

    /// The total reward only.
    public static func reward(_ m: OracleMeasurement, prompt: ShapesPrompt, weights: PreferenceWeights) -> Double {
        evaluate(m, prompt: prompt, weights: weights).total
    }
}
