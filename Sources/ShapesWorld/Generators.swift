import Kernels

/// A simulated text-to-image generator (shapes-world.md §6): follows a prompt with given error rates.
///
/// Choices, in this order from the caller's RNG (part of the determinism contract):
/// 1. background: wrong with `wrongBackground`, then uniform among the colours that are neither the
///    prompt's BG nor its COLOR (so a correct shape colour stays visible);
/// 2. colour: wrong with `wrongColour`, then uniform among the colours that are neither the prompt's COLOR
///    nor the drawn background;
/// 3. shape: wrong with `wrongShape`, then uniform among the other two;
/// 4. a named size, then a named position, each ignored with `ignoreSizePosition` (independently): an
///    ignored word is drawn as if the prompt had not named it;
/// 5. vivid, light, gradient, scale uniform in [0, 1]; noise σ uniform in `noiseRange`;
/// 6. clutter k = Poisson(`clutterMean`) capped at 3, dot colours uniform among the colours ≠ background;
/// 7. the placement draws and the layout stream for dots and noise.
public struct Generator: Sendable, Equatable {
    public let name: String
    public let wrongShape: Double
    public let wrongColour: Double
    public let wrongBackground: Double
    public let ignoreSizePosition: Double
    public let clutterMean: Double
    public let noiseRange: ClosedRange<Double>

    public static let maxClutter = 3

    public static let good = Generator(name: "render-good", wrongShape: 0.05, wrongColour: 0.05, wrongBackground: 0.03,
                                       ignoreSizePosition: 0.10, clutterMean: 0.3, noiseRange: 0...0.02)
    public static let sloppy = Generator(name: "render-sloppy", wrongShape: 0.25, wrongColour: 0.25,
                                         wrongBackground: 0.15, ignoreSizePosition: 0.40, clutterMean: 1.5,
                                         noiseRange: 0...0.06)
    public static let all = [good, sloppy]

    public static func named(_ name: String) throws -> Generator {
        guard let g = all.first(where: { $0.name == name }) else { throw ShapesWorldError.unknownGenerator(name) }
        return g
    }

    /// The scene this generator draws for `prompt`.
    public func scene(for prompt: ShapesPrompt, rng: inout RNG) -> Scene {
        let background = rng.nextBool(probability: wrongBackground)
            ? rng.pick(PaletteColour.allCases.filter { $0 != prompt.background && $0 != prompt.colour })
            : prompt.background
        let colour = rng.nextBool(probability: wrongColour)
            ? rng.pick(PaletteColour.allCases.filter { $0 != prompt.colour && $0 != background })
            : prompt.colour
        let shape = rng.nextBool(probability: wrongShape)
            ? rng.pick(ShapeKind.allCases.filter { $0 != prompt.shape })
            : prompt.shape
        let size = prompt.size.flatMap { rng.nextBool(probability: ignoreSizePosition) ? nil : $0 }
        let position = prompt.position.flatMap { rng.nextBool(probability: ignoreSizePosition) ? nil : $0 }
        let parameters = RenderParameters(vivid: rng.nextDouble(), light: rng.nextDouble(),
                                          gradient: rng.nextDouble(), scale: rng.nextDouble(),
                                          noise: rng.uniform(noiseRange.lowerBound, noiseRange.upperBound))
        let k = rng.poisson(mean: clutterMean, cap: Generator.maxClutter)
        let dotPalette = PaletteColour.allCases.filter { $0 != background }
        let dots = (0..<k).map { _ in rng.pick(dotPalette) }
        let placement = SIMD2(rng.nextDouble(), rng.nextDouble())
        let layout = RNG(seed: UInt64(rng.nextInt(below: Int.max)), stream: rng.stream)
        return Scene(shape: shape, colour: colour, background: background, size: size, position: position,
                     parameters: parameters, placement: placement, dotColours: dots, layoutRNG: layout)
    }
}
