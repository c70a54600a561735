import Kernels

/// How many attributes a perturbed caption replaces (DCPO's weak / medium / strong).
public enum CaptionStrength: Int, CaseIterable, Sendable {
    case weak = 1, medium = 2, strong = 3

    public var name: String {
        switch self {
        case .weak: return "weak"
        case .medium: return "medium"
        case .strong: return "strong"
        }
    }
}

/// The caption strategies of shapes-world.md §7 (for DCPO and for pretraining).
public enum CaptionStrategy: Sendable, Equatable, CustomStringConvertible {
    /// Each image gets its truthful caption.
    case captioning
    /// The preferred image keeps the prompt; the other gets the prompt with k attributes replaced.
    case perturbation(CaptionStrength)
    /// The preferred image gets its truthful caption; the other a perturbed truthful caption.
    case hybrid(CaptionStrength)

    /// "captioning", "perturbation-weak|medium|strong", "hybrid-weak|medium|strong".
    public var description: String {
        switch self {
        case .captioning: return "captioning"
        case .perturbation(let k): return "perturbation-" + k.name
        case .hybrid(let k): return "hybrid-" + k.name
        }
    }

    public static let all: [CaptionStrategy] = [.captioning] + CaptionStrength.allCases.map { .perturbation($0) }
        + CaptionStrength.allCases.map { .hybrid($0) }

    public init?(name: String) {
        guard let s = CaptionStrategy.all.first(where: { $0.description == name }) else { return nil }
        self = s
    }
}

/// Captions per image (shapes-world.md §7).
public enum Captions {
    /// The caption of what a scene shows at size S, in the prompt grammar with all five attributes: the
    /// drawn shape, colour and background, the size word of the drawn d (the oracle's 0.43 rule) and the
    /// position nearest to the drawn centre.
    public static func truthful(_ scene: Scene, size s: Int) -> ShapesPrompt {
        let centre = scene.centrePixels(size: s) / Double(s)
        return ShapesPrompt(size: ShapeSize.measured(scene.diameter), colour: scene.colour, shape: scene.shape,
                            position: ShapePosition.nearest(to: centre), background: scene.background)
    }

    /// `prompt` with `strength.rawValue` distinct attributes among those it names replaced by different
    /// values (shape, colour, background always; size and position when present). Replacements keep
    /// COLOR ≠ BG. Draws come from `rng`.
    public static func perturbed(_ prompt: ShapesPrompt, strength: CaptionStrength, rng: inout RNG) -> ShapesPrompt {
        enum Attribute { case shape, colour, background, size, position }
        var present: [Attribute] = [.shape, .colour, .background]
        if prompt.size != nil { present.append(.size) }
        if prompt.position != nil { present.append(.position) }
        let chosen = Set(rng.distinctIndices(strength.rawValue, of: present.count).map { present[$0] })
        var p = prompt
        // Fixed order, so colour and background replacements see each other's new value.
        if chosen.contains(.shape) { p.shape = rng.pick(ShapeKind.allCases.filter { $0 != prompt.shape }) }
        if chosen.contains(.colour) {
            p.colour = rng.pick(PaletteColour.allCases.filter { $0 != prompt.colour && $0 != p.background })
        }
        if chosen.contains(.background) {
            p.background = rng.pick(PaletteColour.allCases.filter { $0 != prompt.background && $0 != p.colour })
        }
        if let size = prompt.size, chosen.contains(.size) { p.size = ShapeSize.allCases.first { $0 != size } }
        if let position = prompt.position, chosen.contains(.position) {
            p.position = rng.pick(ShapePosition.allCases.filter { $0 != position })
        }
        return p
    }

    /// The two captions of a pair under `strategy`: `prompt` is the pair's prompt, the truthful captions
    /// are those of the preferred and the other image (a tie counts image 0 as preferred).
    public static func pair(strategy: CaptionStrategy, prompt: ShapesPrompt, preferredTruthful: ShapesPrompt,
                            otherTruthful: ShapesPrompt, rng: inout RNG) -> (preferred: ShapesPrompt, other: ShapesPrompt) {
        switch strategy {
        case .captioning:
            return (preferredTruthful, otherTruthful)
        case .perturbation(let k):
            return (prompt, perturbed(prompt, strength: k, rng: &rng))
        case .hybrid(let k):
            return (preferredTruthful, perturbed(otherTruthful, strength: k, rng: &rng))
        }
    }

    /// The same on caption strings (e.g. a row's caption, caption_0 and caption_1); throws
    /// `unparsablePrompt` for a string outside the grammar.
    public static func pair(strategy: CaptionStrategy, prompt: String, preferredTruthful: String,
                            otherTruthful: String, rng: inout RNG) throws -> (preferred: String, other: String) {
        let r = pair(strategy: strategy, prompt: try ShapesPrompt(parsing: prompt),
                     preferredTruthful: try ShapesPrompt(parsing: preferredTruthful),
                     otherTruthful: try ShapesPrompt(parsing: otherTruthful), rng: &rng)
        return (r.preferred.text, r.other.text)
    }
}
