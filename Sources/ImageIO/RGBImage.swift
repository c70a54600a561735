// RGBImage: the 8-bit RGB raster every layer above ImageIO exchanges (datasets, samples, grids).

/// An 8-bit RGB image, interleaved and row-major (`pixels[(y·width + x)·3 + c]`). Alpha is never stored:
/// decoders drop it (see `ImageFile`).
public struct RGBImage: Sendable, Equatable {
    public let width: Int, height: Int
    /// RGB interleaved, row-major, count = width·height·3.
    public var pixels: [UInt8]

    /// `pixels.count` must equal `width·height·3`; a mismatch is a programming error (decoders validate input
    /// before building an image), so it traps with the sizes rather than producing a corrupt image.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0, "RGBImage: negative size \(width)×\(height)")
        precondition(pixels.count == width * height * 3,
                     "RGBImage: \(pixels.count) bytes for \(width)×\(height) (needs \(width * height * 3))")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8)) {
        precondition(width >= 0 && height >= 0, "RGBImage: negative size \(width)×\(height)")
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        var i = 0
        while i < pixels.count {
            pixels[i] = fill.0; pixels[i + 1] = fill.1; pixels[i + 2] = fill.2
            i += 3
        }
        self.init(width: width, height: height, pixels: pixels)
    }

    /// The pixel at column `x`, row `y` (origin top-left). Out-of-range coordinates trap.
    public subscript(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        get {
            precondition(x >= 0 && x < width && y >= 0 && y < height, "RGBImage: (\(x), \(y)) outside \(width)×\(height)")
            let i = (y * width + x) * 3
            return (pixels[i], pixels[i + 1], pixels[i + 2])
        }
        set {
            precondition(x >= 0 && x < width && y >= 0 && y < height, "RGBImage: (\(x), \(y)) outside \(width)×\(height)")
            let i = (y * width + x) * 3
            pixels[i] = newValue.0; pixels[i + 1] = newValue.1; pixels[i + 2] = newValue.2
        }
    }

    public static func == (a: RGBImage, b: RGBImage) -> Bool {
        a.width == b.width && a.height == b.height && a.pixels == b.pixels
    }
}

// MARK: - Model tensors

extension RGBImage {
    /// Model input: CHW floats in [-1, 1] (x/127.5 − 1) written to `out` (3·width·height floats).
    public func writeCHW(to out: UnsafeMutablePointer<Float>) {
        let plane = width * height
        pixels.withUnsafeBufferPointer { src in
            for p in 0..<plane {
                out[p] = Float(src[p * 3]) / 127.5 - 1
                out[plane + p] = Float(src[p * 3 + 1]) / 127.5 - 1
                out[2 * plane + p] = Float(src[p * 3 + 2]) / 127.5 - 1
            }
        }
    }

    /// From model output CHW floats in [-1, 1]: clamped, (x+1)·127.5, rounded. NaN maps to 0 (black) so a
    /// diverged sample still renders instead of trapping on the UInt8 conversion.
    public init(chw: UnsafePointer<Float>, width: Int, height: Int) {
        let plane = width * height
        var pixels = [UInt8](repeating: 0, count: plane * 3)
        pixels.withUnsafeMutableBufferPointer { dst in
            for c in 0..<3 {
                for p in 0..<plane {
                    let v = chw[c * plane + p]
                    let clamped = v.isNaN ? -1 : min(max(v, -1), 1)
                    dst[p * 3 + c] = UInt8(((clamped + 1) * 127.5).rounded())
                }
            }
        }
        self.init(width: width, height: height, pixels: pixels)
    }
}
