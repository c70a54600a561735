/// The words of the prompt grammar besides colours (shapes-world.md §1–§2): shape, size and position.
/// Case order is the spec's order and part of the determinism contract.

public enum ShapeKind: String, CaseIterable, Sendable, Codable {
    case circle, square, triangle
}

public enum ShapeSize: String, CaseIterable, Sendable, Codable {
    case small, large

    /// Side/diameter d as a fraction of the image size S.
    public var fraction: Double {
        switch self {
        case .small: return 0.30
        case .large: return 0.55
        }
    }

    /// §4.5: the longest bounding-box side over S below 0.43 reads as small. The truthful caption
    /// names the size of a drawn d with the same rule, so captions and the oracle agree.
    public static let threshold = 0.43

    public static func measured(_ sideOverS: Double) -> ShapeSize { sideOverS < threshold ? .small : .large }
}

public enum ShapePosition: String, CaseIterable, Sendable, Codable {
    case center, topLeft, topRight, bottomLeft, bottomRight

    /// The phrase in a prompt, e.g. "at the top left".
    public var phrase: String {
        switch self {
        case .center: return "in the center"
        case .topLeft: return "at the top left"
        case .topRight: return "at the top right"
        case .bottomLeft: return "at the bottom left"
        case .bottomRight: return "at the bottom right"
        }
    }

    /// Centre of the shape's bounding box as fractions of S (x right, y down).
    public var centre: SIMD2<Double> {
        switch self {
        case .center: return SIMD2(0.5, 0.5)
        case .topLeft: return SIMD2(0.35, 0.35)
        case .topRight: return SIMD2(0.65, 0.35)
        case .bottomLeft: return SIMD2(0.35, 0.65)
        case .bottomRight: return SIMD2(0.65, 0.65)
        }
    }

    /// Jitter half-width around the named centre, as a fraction of S.
    public static let jitter = 0.04

    /// The position whose centre is nearest to `point` (fractions of S); ties go to the earlier case.
    public static func nearest(to point: SIMD2<Double>) -> ShapePosition {
        var best = ShapePosition.center
        var bestDistance = Double.infinity
        for p in allCases {
            let d = p.centre - point
            let d2 = (d * d).sum()
            if d2 < bestDistance { best = p; bestDistance = d2 }
        }
        return best
    }
}
