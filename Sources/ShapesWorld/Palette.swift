/// The eight palette colours of the Shapes world (shapes-world.md §1) and colour naming by HSV hue (§4).
///
/// The case order is the spec table's (red, orange, yellow, green, blue, purple, white, black); prompt
/// enumeration and random choices follow it, so it is part of the determinism contract.
public enum PaletteColour: String, CaseIterable, Sendable, Codable {
    case red, orange, yellow, green, blue, purple, white, black

    /// sRGB 0–255, as the spec's table.
    public var rgb: (r: UInt8, g: UInt8, b: UInt8) {
        switch self {
        case .red: return (220, 40, 40)
        case .orange: return (240, 140, 30)
        case .yellow: return (235, 215, 40)
        case .green: return (50, 170, 70)
        case .blue: return (40, 90, 220)
        case .purple: return (140, 60, 190)
        case .white: return (240, 240, 240)
        case .black: return (25, 25, 25)
        }
    }

    /// The palette colour as floats (0–255 scale), for rendering and measurement.
    public var vector: SIMD3<Double> {
        let c = rgb
        return SIMD3(Double(c.r), Double(c.g), Double(c.b))
    }

    /// White and black are named by lightness, the others by hue.
    public var isChromatic: Bool { self != .white && self != .black }

    /// Hue of the palette entry in degrees, the reference the naming rule compares against.
    public var hue: Double { ColourMath.hueDegrees(vector) }

    public static let chromatic: [PaletteColour] = allCases.filter(\.isChromatic)

    /// §4 colour naming: saturation < 0.2 → white when luma > 110, else black; otherwise the chromatic
    /// palette colour whose hue is nearest on the hue circle (ties go to the earlier colour in the table).
    public static func named(_ rgb: SIMD3<Double>) -> PaletteColour {
        if ColourMath.saturation(rgb) < 0.2 {
            return ColourMath.luma(rgb) > 110 ? .white : .black
        }
        let h = ColourMath.hueDegrees(rgb)
        var best = PaletteColour.red
        var bestDistance = Double.infinity
        for c in chromatic {
            let d = ColourMath.hueDistance(h, c.hue)
            if d < bestDistance { best = c; bestDistance = d }
        }
        return best
    }
}

/// Luma and HSV on the 0–255 scale (the conventions of Python's `colorsys`).
public enum ColourMath {
    /// Rec. 601 luma: 0.299R + 0.587G + 0.114B.
    @inlinable
    public static func luma(_ c: SIMD3<Double>) -> Double { 0.299 * c.x + 0.587 * c.y + 0.114 * c.z }

    /// HSV saturation (max − min) / max; 0 for black.
    @inlinable
    public static func saturation(_ c: SIMD3<Double>) -> Double {
        let mx = c.max(), mn = c.min()
        return mx > 0 ? (mx - mn) / mx : 0
    }

    /// HSV hue in [0, 360); 0 for greys (where it is undefined and unused).
    public static func hueDegrees(_ c: SIMD3<Double>) -> Double {
        let mx = c.max(), mn = c.min(), delta = mx - mn
        guard delta > 0 else { return 0 }
        var h: Double
        if mx == c.x {
            h = (c.y - c.z) / delta
        } else if mx == c.y {
            h = (c.z - c.x) / delta + 2
        } else {
            h = (c.x - c.y) / delta + 4
        }
        h *= 60
        if h < 0 { h += 360 }
        return h
    }

    /// Distance on the hue circle, in [0, 180].
    @inlinable
    public static func hueDistance(_ a: Double, _ b: Double) -> Double {
        let d = abs(a - b).truncatingRemainder(dividingBy: 360)
        return min(d, 360 - d)
    }
}
