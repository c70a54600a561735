import ImageIO
import Kernels

/// A rendered scene: the image and which object each pixel belongs to (for tests and captions).
public struct RenderedScene: Sendable {
    public let image: RGBImage
    /// Per pixel, row-major: 0 background, 1 the shape, 2 + i distractor dot i.
    public let objectMap: [UInt8]
    /// Dots actually placed (a dot that finds no free spot after many tries is left out).
    public let dotsDrawn: Int
}

/// Draws scenes (shapes-world.md §1, §3): background with gradient, distractor dots, the shape; then
/// brightness, then pixel noise. Shapes are filled with hard edges: a pixel belongs to a square or circle
/// when its centre lies inside it (fill ratios near 1 and π/4); triangles see the note in `drawShape`
/// (fill ratio near ½ + 1/(2d)). Every shape's pixel box is d ± 1 pixels on each side.
public enum Renderer {
    public static let minimumSize = 16
    /// Tries per dot before it is left out (only happens next to a large shape in a small image).
    static let dotAttempts = 200

    public static func render(_ scene: Scene, size s: Int) throws -> RenderedScene {
        guard s >= minimumSize else { throw ShapesWorldError.imageTooSmall(size: s, minimum: minimumSize) }
        var map = [UInt8](repeating: 0, count: s * s)
        drawShape(scene, size: s, into: &map)
        var dotRNG = scene.layoutRNG.derived(stream: 1)
        var dotsDrawn = 0
        for i in scene.dotColours.indices where placeDot(label: UInt8(2 + i), size: s, rng: &dotRNG, into: &map) {
            dotsDrawn += 1
        }

        // Colours on the 0–255 scale, then brightness, then noise on the [0, 1] scale.
        let brightness = 0.75 + 0.5 * scene.parameters.light
        let bg = scene.background.vector, fg = scene.foregroundRGB
        let dots = scene.dotColours.map(\.vector)
        var values = [Double](repeating: 0, count: s * s * 3)
        for y in 0..<s {
            let rowFactor = 1 - 0.45 * scene.parameters.gradient * (1 - Double(y) / Double(s - 1))
            let rowBG = bg * rowFactor
            for x in 0..<s {
                let label = map[y * s + x]
                let c = label == 0 ? rowBG : label == 1 ? fg : dots[Int(label) - 2]
                let v = c * brightness
                let i = (y * s + x) * 3
                values[i] = min(v.x, 255)
                values[i + 1] = min(v.y, 255)
                values[i + 2] = min(v.z, 255)
            }
        }
        if scene.parameters.noise > 0 {
            var noiseRNG = scene.layoutRNG.derived(stream: 2)
            let z = noiseRNG.normal(count: values.count)
            let sigma = scene.parameters.noise
            for i in values.indices {
                values[i] = min(max(values[i] / 255 + sigma * Double(z[i]), 0), 1) * 255
            }
        }
        let pixels = values.map { UInt8($0.rounded()) }
        return RenderedScene(image: RGBImage(width: s, height: s, pixels: pixels), objectMap: map, dotsDrawn: dotsDrawn)
    }

    /// Marks the shape's pixels with 1.
    static func drawShape(_ scene: Scene, size s: Int, into map: inout [UInt8]) {
        let c = scene.centrePixels(size: s)
        let d = scene.diameter * Double(s), half = d / 2
        let top = c.y - half
        let x0 = max(0, Int((c.x - half).rounded(.down))), x1 = min(s - 1, Int((c.x + half).rounded(.up)))
        let y0 = max(0, Int((c.y - half).rounded(.down))), y1 = min(s - 1, Int((c.y + half).rounded(.up)))
        guard x0 <= x1, y0 <= y1 else { return }
        for y in y0...y1 {
            let py = Double(y) + 0.5
            for x in x0...x1 {
                let px = Double(x) + 0.5
                let dx = px - c.x, dy = py - c.y
                let inside: Bool
                switch scene.shape {
                case .square:
                    inside = abs(dx) <= half && abs(dy) <= half
                case .circle:
                    inside = dx * dx + dy * dy <= half * half
                case .triangle:
                    // Apex up at the top of the box, base d along its bottom. Rows whose centre lies in the
                    // box are drawn as wide as the triangle gets within the row (full base on the last row,
                    // at least one pixel at the apex), so the drawn box is d × d like the other shapes'.
                    guard py >= top && py <= top + d else { inside = false; break }
                    let t = py + 1 > top + d ? 1 : (Double(y) + 1 - top) / d
                    inside = abs(dx) <= max(t * half, 0.5)
                }
                if inside { map[y * s + x] = 1 }
            }
        }
    }

    /// Places one dot of diameter 0.10·S inside the border, with at least one background pixel between it
    /// and every other object (so no two objects touch, even diagonally). Returns false if none fits.
    static func placeDot(label: UInt8, size s: Int, rng: inout RNG, into map: inout [UInt8]) -> Bool {
        let S = Double(s)
        let r = Scene.dotDiameter * S / 2
        let lo = r + 1, hi = S - 1 - r
        var pixels: [Int] = []
        for _ in 0..<dotAttempts {
            let cx = lo + (hi - lo) * rng.nextDouble(), cy = lo + (hi - lo) * rng.nextDouble()
            pixels.removeAll(keepingCapacity: true)
            var free = true
            let x0 = max(1, Int((cx - r).rounded(.down))), x1 = min(s - 2, Int((cx + r).rounded(.up)))
            let y0 = max(1, Int((cy - r).rounded(.down))), y1 = min(s - 2, Int((cy + r).rounded(.up)))
            scan: for y in y0...y1 {
                for x in x0...x1 {
                    let dx = Double(x) + 0.5 - cx, dy = Double(y) + 0.5 - cy
                    guard dx * dx + dy * dy <= r * r else { continue }
                    for ny in (y - 1)...(y + 1) {
                        for nx in (x - 1)...(x + 1) where map[ny * s + nx] != 0 {
                            free = false
                            break scan
                        }
                    }
                    pixels.append(y * s + x)
                }
            }
            if free && !pixels.isEmpty {
                for p in pixels { map[p] = label }
                return true
            }
        }
        return false
    }
}
