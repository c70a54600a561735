import ImageIO

/// The shape the oracle found: the largest 4-connected component of the foreground mask.
public struct MeasuredShape: Sendable, Equatable {
    public var kind: ShapeKind
    public var colour: PaletteColour
    public var size: ShapeSize
    public var position: ShapePosition
    /// Per-channel median RGB of the shape's pixels (0–255).
    public var medianRGB: SIMD3<Double>
    public var pixelCount: Int
    /// Pixels / bounding-box area.
    public var fillRatio: Double
    /// Bounding box, inclusive pixel coordinates.
    public var minX: Int, minY: Int, maxX: Int, maxY: Int

    public init(kind: ShapeKind, colour: PaletteColour, size: ShapeSize, position: ShapePosition,
                medianRGB: SIMD3<Double>, pixelCount: Int, fillRatio: Double, minX: Int, minY: Int, maxX: Int, maxY: Int) {
        self.kind = kind
        self.colour = colour
        self.size = size
        self.position = position
        self.medianRGB = medianRGB
        self.pixelCount = pixelCount
        self.fillRatio = fillRatio
        self.minX = minX
        self.minY = minY
        self.maxX = maxX
        self.maxY = maxY
    }

    /// Longest bounding-box side in pixels.
    public var longestSide: Int { max(maxX - minX + 1, maxY - minY + 1) }
}

/// The six measured features (§4.6), each clamped to [0, 1].
public struct OracleFeatures: Sendable, Equatable, Codable {
    public var vivid: Double
    public var light: Double
    public var gradient: Double
    public var scale: Double
    public var clutter: Double
    public var noise: Double

    public init(vivid: Double, light: Double, gradient: Double, scale: Double, clutter: Double, noise: Double) {
        self.vivid = vivid
        self.light = light
        self.gradient = gradient
        self.scale = scale
        self.clutter = clutter
        self.noise = noise
    }

    /// The four features users weigh: (vivid, light, gradient, scale).
    public var preference: SIMD4<Double> { SIMD4(vivid, light, gradient, scale) }
}

/// Everything the oracle reads off one image.
public struct OracleMeasurement: Sendable, Equatable {
    public var background: PaletteColour
    /// Nil when the mask is empty or its largest component covers more than 85% of the image.
    public var shape: MeasuredShape?
    public var features: OracleFeatures
    /// Mask components other than the shape with at least 0.003·S² pixels (clutter_f before clamping).
    public var otherComponents: Int

    public init(background: PaletteColour, shape: MeasuredShape?, features: OracleFeatures, otherComponents: Int) {
        self.background = background
        self.shape = shape
        self.features = features
        self.otherComponents = otherComponents
    }
}

/// The pixel oracle of shapes-world.md §4: measures any square RGB image, generated or rendered.
///
/// Conventions the spec leaves open, fixed here: medians of an even count average the two middle values;
/// the largest component's ties go to the one met first in raster order; the bounding-box centre of
/// pixels minX…maxX is (minX + maxX + 1)/2 (pixel x spans [x, x+1)); gradient_f is 0 when the bottom
/// row's background has zero luma; without a valid shape vivid_f and scale_f are 0.
public enum Oracle {
    /// Mask threshold: RGB distance (0–255 scale) from the row background.
    public static let maskThreshold = 60.0
    /// A component larger than this share of the image is not a shape (the mask caught the background).
    public static let maxShapeShare = 0.85
    /// Components of at least this share of S² count as clutter.
    public static let clutterShare = 0.003
    public static let minimumSize = 4

    public static func measure(_ image: RGBImage, source: String = "image") throws -> OracleMeasurement {
        guard image.width == image.height else {
            throw ShapesWorldError.notSquare(source: source, width: image.width, height: image.height)
        }
        let s = image.width
        guard s >= minimumSize else {
            throw ShapesWorldError.imageTooSmallToMeasure(source: source, size: s, minimum: minimumSize)
        }
        let px = image.pixels
        func rgb(_ x: Int, _ y: Int) -> SIMD3<Double> {
            let i = (y * s + x) * 3
            return SIMD3(Double(px[i]), Double(px[i + 1]), Double(px[i + 2]))
        }

        // 1. Background: per-channel median of the left column, right column and bottom row (twice).
        var borderIndices: [Int] = []
        for y in 0..<s { borderIndices.append(y * s); borderIndices.append(y * s + s - 1) }
        for x in 0..<s { borderIndices.append((s - 1) * s + x); borderIndices.append((s - 1) * s + x) }
        let background = PaletteColour.named(channelMedian(px, pixelIndices: borderIndices))

        // 2. Row backgrounds, the foreground mask and its 4-connected components.
        let rowBG = (0..<s).map { y in (rgb(0, y) + rgb(s - 1, y)) / 2 }
        var mask = [Bool](repeating: false, count: s * s)
        let t2 = maskThreshold * maskThreshold
        for y in 0..<s {
            for x in 0..<s {
                let d = rgb(x, y) - rowBG[y]
                mask[y * s + x] = (d * d).sum() > t2
            }
        }
        let components = connectedComponents(mask, size: s)
        let largest = components.indices.max { a, b in
            components[a].count < components[b].count || (components[a].count == components[b].count && a > b)
        }
        let minClutter = clutterShare * Double(s * s)
        let others = components.indices.filter { $0 != largest && Double(components[$0].count) >= minClutter }.count

        var shape: MeasuredShape?
        if let largest, Double(components[largest].count) <= maxShapeShare * Double(s * s) {
            shape = describe(components[largest], pixels: px, size: s)
        }

        // 6. Features.
        var lumaSum = 0.0
        for i in 0..<(s * s) {
            lumaSum += 0.299 * Double(px[3 * i]) + 0.587 * Double(px[3 * i + 1]) + 0.114 * Double(px[3 * i + 2])
        }
        let bottomLuma = ColourMath.luma(rowBG[s - 1])
        let gradient = bottomLuma > 0 ? (1 - ColourMath.luma(rowBG[0]) / bottomLuma) / 0.45 : 0
        let features = OracleFeatures(
            vivid: clamp01(shape.map { ColourMath.saturation($0.medianRGB) } ?? 0),
            light: clamp01(lumaSum / Double(s * s) / 255),
            gradient: clamp01(gradient),
            scale: clamp01(shape.map { (Double($0.longestSide) / Double(s) - 0.30) / 0.25 } ?? 0),
            clutter: clamp01(Double(others)),
            noise: clamp01(noiseLevel(px, size: s)))
        return OracleMeasurement(background: background, shape: shape, features: features, otherComponents: others)
    }

    /// §4.3–4.5 for the shape's pixels.
    static func describe(_ pixelIndices: [Int], pixels px: [UInt8], size s: Int) -> MeasuredShape {
        var minX = s, minY = s, maxX = -1, maxY = -1
        for p in pixelIndices {
            let x = p % s, y = p / s
            minX = min(minX, x); maxX = max(maxX, x)
            minY = min(minY, y); maxY = max(maxY, y)
        }
        let w = maxX - minX + 1, h = maxY - minY + 1
        let fill = Double(pixelIndices.count) / Double(w * h)
        let kind: ShapeKind = fill >= 0.90 ? .square : fill >= 0.65 ? .circle : .triangle
        let median = channelMedian(px, pixelIndices: pixelIndices)
        let S = Double(s)
        let centre = SIMD2(Double(minX + maxX + 1) / 2, Double(minY + maxY + 1) / 2) / S
        return MeasuredShape(kind: kind, colour: PaletteColour.named(median),
                             size: ShapeSize.measured(Double(max(w, h)) / S),
                             position: ShapePosition.nearest(to: centre), medianRGB: median,
                             pixelCount: pixelIndices.count, fillRatio: fill,
                             minX: minX, minY: minY, maxX: maxX, maxY: maxY)
    }

    /// 4-connected components of the mask, each as its pixel indices, in raster order of first pixel.
    static func connectedComponents(_ mask: [Bool], size s: Int) -> [[Int]] {
        var seen = [Bool](repeating: false, count: s * s)
        var components: [[Int]] = []
        var stack: [Int] = []
        for start in 0..<(s * s) where mask[start] && !seen[start] {
            var component: [Int] = []
            seen[start] = true
            stack.append(start)
            while let p = stack.popLast() {
                component.append(p)
                let x = p % s, y = p / s
                for (nx, ny) in [(x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)]
                where nx >= 0 && nx < s && ny >= 0 && ny < s {
                    let q = ny * s + nx
                    if mask[q] && !seen[q] { seen[q] = true; stack.append(q) }
                }
            }
            components.append(component)
        }
        return components
    }

    /// noise_f before clamping: 1.4826 · MAD of neighbour differences along the left column, right column
    /// and bottom row (all three channels), over 255·√2 (the σ of one pixel on the [0, 1] scale).
    static func noiseLevel(_ px: [UInt8], size s: Int) -> Double {
        var d: [Double] = []
        d.reserveCapacity(9 * s)
        func diff(_ a: Int, _ b: Int) {
            for c in 0..<3 { d.append(Double(px[3 * b + c]) - Double(px[3 * a + c])) }
        }
        for y in 0..<(s - 1) {
            diff(y * s, (y + 1) * s)
            diff(y * s + s - 1, (y + 1) * s + s - 1)
        }
        for x in 0..<(s - 1) { diff((s - 1) * s + x, (s - 1) * s + x + 1) }
        let m = median(d)
        let mad = median(d.map { abs($0 - m) })
        return 1.4826 * mad / (255 * 2.0.squareRoot())
    }

    /// Per-channel median of the listed pixels (0–255), by counting (values are bytes).
    static func channelMedian(_ px: [UInt8], pixelIndices: [Int]) -> SIMD3<Double> {
        var result = SIMD3<Double>()
        for c in 0..<3 {
            var histogram = [Int](repeating: 0, count: 256)
            for p in pixelIndices { histogram[Int(px[3 * p + c])] += 1 }
            result[c] = histogramMedian(histogram, count: pixelIndices.count)
        }
        return result
    }

    /// Median of a byte histogram holding `count` values; even counts average the two middle values.
    static func histogramMedian(_ histogram: [Int], count: Int) -> Double {
        guard count > 0 else { return 0 }
        func value(rank: Int) -> Int {  // 0-based rank in sorted order
            var seen = 0
            for v in 0..<256 {
                seen += histogram[v]
                if seen > rank { return v }
            }
            return 255
        }
        if count % 2 == 1 { return Double(value(rank: count / 2)) }
        return Double(value(rank: count / 2 - 1) + value(rank: count / 2)) / 2
    }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let v = values.sorted()
        let n = v.count
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2
    }

    static func clamp01(_ x: Double) -> Double { min(max(x, 0), 1) }
}
