import Kernels

/// One prompt of the grammar `a [SIZE ]COLOR SHAPE[ POSITION] on a BG background` (shapes-world.md §2).
public struct ShapesPrompt: Hashable, Sendable, CustomStringConvertible {
    public var size: ShapeSize?
    public var colour: PaletteColour
    public var shape: ShapeKind
    public var position: ShapePosition?
    public var background: PaletteColour

    /// Precondition: `colour != background` (the grammar's rule; `parse` and the samplers never break it).
    public init(size: ShapeSize? = nil, colour: PaletteColour, shape: ShapeKind, position: ShapePosition? = nil,
                background: PaletteColour) {
        precondition(colour != background, "a Shapes prompt needs BG ≠ COLOR")
        self.size = size
        self.colour = colour
        self.shape = shape
        self.position = position
        self.background = background
    }

    /// The prompt string, e.g. "a large red circle at the top left on a blue background".
    public var text: String {
        var s = "a "
        if let size { s += size.rawValue + " " }
        s += colour.rawValue + " " + shape.rawValue
        if let position { s += " " + position.phrase }
        return s + " on a " + background.rawValue + " background"
    }

    public var description: String { text }

    /// The prompt's split, by the fixed hash of its text.
    public var split: PromptSplit { PromptSplit.of(text) }

    /// All 3,024 prompts: COLOR (8) × BG ≠ COLOR (7) × SHAPE (3) × SIZE (none, small, large) ×
    /// POSITION (none + 5), in the palette/spec order.
    public static let all: [ShapesPrompt] = {
        var prompts: [ShapesPrompt] = []
        prompts.reserveCapacity(3024)
        let sizes: [ShapeSize?] = [nil] + ShapeSize.allCases
        let positions: [ShapePosition?] = [nil] + ShapePosition.allCases
        for colour in PaletteColour.allCases {
            for background in PaletteColour.allCases where background != colour {
                for shape in ShapeKind.allCases {
                    for size in sizes {
                        for position in positions {
                            prompts.append(ShapesPrompt(size: size, colour: colour, shape: shape,
                                                        position: position, background: background))
                        }
                    }
                }
            }
        }
        return prompts
    }()

    /// The prompts of one split, in the order of `all`.
    public static func prompts(in split: PromptSplit) -> [ShapesPrompt] { all.filter { $0.split == split } }

    /// Draws a prompt with the grammar's probabilities: colour uniform, BG uniform among the other seven,
    /// shape uniform, a size word with probability 0.5, a position phrase with probability 0.5. With
    /// `splits`, draws are repeated until the prompt falls in one of them (the grammar's probabilities
    /// conditioned on the split).
    public static func sample(_ rng: inout RNG, splits: Set<PromptSplit> = Set(PromptSplit.allCases)) -> ShapesPrompt {
        precondition(!splits.isEmpty, "sample needs at least one split")
        while true {
            let colour = rng.pick(PaletteColour.allCases)
            let background = rng.pick(PaletteColour.allCases.filter { $0 != colour })
            let shape = rng.pick(ShapeKind.allCases)
            let size: ShapeSize? = rng.nextBool(probability: 0.5) ? rng.pick(ShapeSize.allCases) : nil
            let position: ShapePosition? = rng.nextBool(probability: 0.5) ? rng.pick(ShapePosition.allCases) : nil
            let p = ShapesPrompt(size: size, colour: colour, shape: shape, position: position, background: background)
            if splits.contains(p.split) { return p }
        }
    }

    // MARK: Parsing

    /// Parses a prompt string back. Case and runs of white space are ignored, "an" is read as "a" and a
    /// final full stop is allowed; anything else outside the grammar throws `unparsablePrompt` saying what
    /// was expected where.
    public init(parsing text: String) throws {
        var words = text.lowercased().split(whereSeparator: { $0.isWhitespace }).map(String.init)
        if let last = words.last, last.hasSuffix(".") {
            words[words.count - 1].removeLast()
            if words[words.count - 1].isEmpty { words.removeLast() }
        }
        var i = 0
        func fail(_ reason: String) -> ShapesWorldError { .unparsablePrompt(prompt: text, reason: reason) }
        func word(_ what: String) throws -> String {
            guard i < words.count else { throw fail("it ends where \(what) was expected") }
            defer { i += 1 }
            return words[i]
        }
        func article() throws {
            let w = try word("\"a\"")
            guard w == "a" || w == "an" else { throw fail("expected \"a\", found \"\(w)\"") }
        }
        func colourWord(_ role: String) throws -> PaletteColour {
            let w = try word("a \(role) colour")
            guard let c = PaletteColour(rawValue: w) else { throw fail("\"\(w)\" is not a \(role) colour") }
            return c
        }

        try article()
        var size: ShapeSize?
        if i < words.count, let s = ShapeSize(rawValue: words[i]) { size = s; i += 1 }
        let colour = try colourWord("shape")
        let shapeWord = try word("a shape")
        guard let shape = ShapeKind(rawValue: shapeWord) else { throw fail("\"\(shapeWord)\" is not a shape") }
        var position: ShapePosition?
        for p in ShapePosition.allCases {
            let phrase = p.phrase.split(separator: " ").map(String.init)
            if i + phrase.count <= words.count, Array(words[i..<(i + phrase.count)]) == phrase {
                position = p
                i += phrase.count
                break
            }
        }
        let on = try word("\"on\"")
        guard on == "on" else {
            throw fail("expected a position phrase or \"on\" after the shape, found \"\(on)\"")
        }
        try article()
        let background = try colourWord("background")
        let last = try word("\"background\"")
        guard last == "background" else { throw fail("expected \"background\", found \"\(last)\"") }
        guard i == words.count else {
            throw fail("unexpected words after \"background\": \"\(words[i...].joined(separator: " "))\"")
        }
        guard background != colour else { throw fail("the background colour must differ from the shape colour") }
        self.init(size: size, colour: colour, shape: shape, position: position, background: background)
    }
}
