// Canvas: an RGB drawing surface for contact sheets and sample grids (rectangles, pasted images, text).

/// A mutable RGB image with clipped drawing: anything drawn partly or wholly outside the canvas is cut at
/// the edges, never an error, so layout code needs no bounds arithmetic of its own.
public struct Canvas: Sendable {
    public private(set) var image: RGBImage
    public var width: Int { image.width }
    public var height: Int { image.height }

    public init(width: Int, height: Int, background: (UInt8, UInt8, UInt8) = (255, 255, 255)) {
        image = RGBImage(width: width, height: height, fill: background)
    }

    /// Fills the rectangle with top-left (`x`, `y`), clipped to the canvas.
    public mutating func fillRectangle(x: Int, y: Int, width w: Int, height h: Int, color: (UInt8, UInt8, UInt8)) {
        let x0 = max(x, 0), x1 = min(x + w, width)
        let y0 = max(y, 0), y1 = min(y + h, height)
        guard x0 < x1, y0 < y1 else { return }
        let canvasWidth = width
        image.pixels.withUnsafeMutableBufferPointer { p in
            for row in y0..<y1 {
                var i = (row * canvasWidth + x0) * 3
                for _ in x0..<x1 {
                    p[i] = color.0; p[i + 1] = color.1; p[i + 2] = color.2
                    i += 3
                }
            }
        }
    }

    /// Draws a rectangle outline `thickness` pixels wide, inside the given bounds.
    public mutating func strokeRectangle(x: Int, y: Int, width w: Int, height h: Int,
                                         color: (UInt8, UInt8, UInt8), thickness: Int = 1) {
        let t = max(0, min(thickness, w / 2 + w % 2, h / 2 + h % 2))
        guard t > 0 else { return }
        fillRectangle(x: x, y: y, width: w, height: t, color: color)
        fillRectangle(x: x, y: y + h - t, width: w, height: t, color: color)
        fillRectangle(x: x, y: y + t, width: t, height: h - 2 * t, color: color)
        fillRectangle(x: x + w - t, y: y + t, width: t, height: h - 2 * t, color: color)
    }

    /// Copies `source` with its top-left at (`x`, `y`), each source pixel becoming a `scale`×`scale` block
    /// (nearest-neighbour upscaling keeps 32×32 samples crisp), clipped to the canvas.
    public mutating func paste(_ source: RGBImage, x: Int, y: Int, scale: Int = 1) {
        precondition(scale >= 1, "Canvas.paste: scale \(scale) must be at least 1")
        let x0 = max(x, 0), x1 = min(x + source.width * scale, width)
        let y0 = max(y, 0), y1 = min(y + source.height * scale, height)
        guard x0 < x1, y0 < y1 else { return }
        let canvasWidth = width, sourceWidth = source.width
        source.pixels.withUnsafeBufferPointer { src in
            image.pixels.withUnsafeMutableBufferPointer { dst in
                for row in y0..<y1 {
                    let srcRow = (row - y) / scale * sourceWidth
                    var d = (row * canvasWidth + x0) * 3
                    for column in x0..<x1 {
                        let s = (srcRow + (column - x) / scale) * 3
                        dst[d] = src[s]; dst[d + 1] = src[s + 1]; dst[d + 2] = src[s + 2]
                        d += 3
                    }
                }
            }
        }
    }

    /// Draws `text` with the built-in bitmap font, top-left at (`x`, `y`). With `maxWidth`, lines wrap at
    /// spaces (long words break) to fit that many pixels; a newline always starts a new line. Returns the height
    /// in pixels of the drawn block (0 for empty text).
    @discardableResult
    public mutating func drawText(_ text: String, x: Int, y: Int, color: (UInt8, UInt8, UInt8) = (0, 0, 0),
                                  scale: Int = 1, maxWidth: Int? = nil) -> Int {
        precondition(scale >= 1, "Canvas.drawText: scale \(scale) must be at least 1")
        let lines = maxWidth.map { BitmapFont.wrap(text, maxWidth: $0, scale: scale) }
            ?? text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
        if text.isEmpty { return 0 }
        for (index, line) in lines.enumerated() {
            drawLine(line, x: x, y: y + index * BitmapFont.lineHeight * scale, color: color, scale: scale)
        }
        return BitmapFont.height(lines: lines.count, scale: scale)
    }

    private mutating func drawLine(_ line: String, x: Int, y: Int, color: (UInt8, UInt8, UInt8), scale: Int) {
        var penX = x
        for character in line {
            if penX >= width { return }
            for gy in 0..<BitmapFont.glyphHeight {
                for gx in 0..<BitmapFont.glyphWidth where BitmapFont.isInk(character, x: gx, y: gy) {
                    fillRectangle(x: penX + gx * scale, y: y + gy * scale, width: scale, height: scale, color: color)
                }
            }
            penX += BitmapFont.advance * scale
        }
    }
}
