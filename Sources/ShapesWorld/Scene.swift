import Kernels

/// The render parameters nobody names in a prompt (shapes-world.md §3), each in [0, 1] except `noise`.
public struct RenderParameters: Sendable, Equatable, Codable {
    /// Foreground colour = g + (0.35 + 0.65·vivid)·(palette − g), g = the palette colour's luma.
    public var vivid: Double
    /// Every pixel × (0.75 + 0.5·light), clamped to 255.
    public var light: Double
    /// Background row y = BG · (1 − 0.45·gradient·(1 − y/(S−1))): darker towards the top.
    public var gradient: Double
    /// Without a size word (or when a generator ignores it): d = (0.30 + 0.25·scale)·S.
    public var scale: Double
    /// σ of the Gaussian pixel noise on the [0, 1] scale, in [0, 0.06].
    public var noise: Double

    public init(vivid: Double, light: Double, gradient: Double, scale: Double, noise: Double) {
        self.vivid = vivid
        self.light = light
        self.gradient = gradient
        self.scale = scale
        self.noise = noise
    }
}

/// What one image shows, independent of its pixel size: the renderer turns it into pixels at any S ≥ 16.
///
/// `size`/`position` are what was drawn on purpose; nil means none was (the prompt named none or the
/// generator ignored it), and then d comes from `parameters.scale` and the centre is free.
public struct Scene: Sendable, Equatable {
    public var shape: ShapeKind
    public var colour: PaletteColour
    public var background: PaletteColour
    public var size: ShapeSize?
    public var position: ShapePosition?
    public var parameters: RenderParameters
    /// Two uniforms in [0, 1): the jitter of a named position ((2u − 1)·0.04·S on each axis), or the
    /// location of a free centre within the range that keeps the margin.
    public var placement: SIMD2<Double>
    /// Colours of the distractor dots (the clutter k); the renderer places them without touching.
    public var dotColours: [PaletteColour]
    /// The stream for dot placement and pixel noise, so a scene renders identically every time.
    public var layoutRNG: RNG

    /// Precondition: `colour != background` (the shape must be visible).
    public init(shape: ShapeKind, colour: PaletteColour, background: PaletteColour, size: ShapeSize?,
                position: ShapePosition?, parameters: RenderParameters, placement: SIMD2<Double>,
                dotColours: [PaletteColour], layoutRNG: RNG) {
        precondition(colour != background, "a scene needs a shape colour different from the background")
        self.shape = shape
        self.colour = colour
        self.background = background
        self.size = size
        self.position = position
        self.parameters = parameters
        self.placement = placement
        self.dotColours = dotColours
        self.layoutRNG = layoutRNG
    }

    /// Side/diameter d as a fraction of S.
    public var diameter: Double { size?.fraction ?? 0.30 + 0.25 * parameters.scale }

    /// Dot diameter as a fraction of S.
    public static let dotDiameter = 0.10

    /// Centre of the shape's bounding box in pixels (x right, y down; pixel x spans [x, x+1)) at size S:
    /// the named centre jittered by ±0.04·S, or a free centre, then clamped so the shape keeps a margin
    /// of at least one pixel (no shape pixel on the border).
    public func centrePixels(size s: Int) -> SIMD2<Double> {
        let S = Double(s)
        let half = diameter * S / 2
        let lo = half + 1, hi = S - 1 - half
        if let position {
            let c = position.centre * S + (2 * placement - 1) * (ShapePosition.jitter * S)
            return SIMD2(min(max(c.x, lo), hi), min(max(c.y, lo), hi))
        }
        return SIMD2(repeating: lo) + placement * (hi - lo)
    }

    /// The foreground colour after `vivid` (0–255 scale, before brightness).
    public var foregroundRGB: SIMD3<Double> {
        let p = colour.vector
        let g = ColourMath.luma(p)
        return g + (0.35 + 0.65 * parameters.vivid) * (p - g)
    }
}
