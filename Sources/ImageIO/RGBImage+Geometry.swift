// Geometric transforms on RGBImage: resampling, crops and flips used by the dataset transforms.

extension RGBImage {
    /// Resamples to `width`×`height`, each axis on its own: an axis that shrinks uses area averaging (every
    /// output pixel is the mean of the source area it covers, with fractional edge pixels weighted by their
    /// coverage, as OpenCV's INTER_AREA), so downscaling never aliases; an axis that grows uses bilinear
    /// interpolation with half-pixel centres and clamped edges (PyTorch `F.interpolate(mode='bilinear',
    /// align_corners=False)`). Results are rounded to the nearest integer.
    public func resized(width newWidth: Int, height newHeight: Int) -> RGBImage {
        precondition(newWidth > 0 && newHeight > 0, "RGBImage.resized: target \(newWidth)×\(newHeight) must be positive")
        precondition(width > 0 && height > 0, "RGBImage.resized: cannot resample an empty \(width)×\(height) image")
        if newWidth == width && newHeight == height { return self }
        let horizontal = ResampleTaps(from: width, to: newWidth)
        let vertical = ResampleTaps(from: height, to: newHeight)

        // Horizontal pass into floats (height × newWidth × 3), then vertical pass with rounding.
        var rows = [Float](repeating: 0, count: height * newWidth * 3)
        pixels.withUnsafeBufferPointer { src in
            rows.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    let srcRow = y * width * 3, dstRow = y * newWidth * 3
                    for x in 0..<newWidth {
                        var r: Float = 0, g: Float = 0, b: Float = 0
                        for t in horizontal.range(x) {
                            let w = horizontal.weights[t], s = srcRow + horizontal.indices[t] * 3
                            r += w * Float(src[s]); g += w * Float(src[s + 1]); b += w * Float(src[s + 2])
                        }
                        dst[dstRow + x * 3] = r; dst[dstRow + x * 3 + 1] = g; dst[dstRow + x * 3 + 2] = b
                    }
                }
            }
        }
        var out = [UInt8](repeating: 0, count: newHeight * newWidth * 3)
        let rowLength = newWidth * 3
        rows.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<newHeight {
                    for i in 0..<rowLength {
                        var v: Float = 0
                        for t in vertical.range(y) {
                            v += vertical.weights[t] * src[vertical.indices[t] * rowLength + i]
                        }
                        dst[y * rowLength + i] = UInt8(min(max(v, 0), 255).rounded())
                    }
                }
            }
        }
        return RGBImage(width: newWidth, height: newHeight, pixels: out)
    }

    /// Scales (keeping the aspect ratio) so the shorter side is `size`; the longer side becomes
    /// ⌊size·long/short⌋, the rule of torchvision's `Resize(size)`. Resampling as `resized(width:height:)`.
    public func resizedShorterSide(to size: Int) -> RGBImage {
        precondition(size > 0, "RGBImage.resizedShorterSide: size \(size) must be positive")
        if width <= height {
            return resized(width: size, height: max(1, size * height / width))
        }
        return resized(width: max(1, size * width / height), height: size)
    }

    /// The centred `width`×`height` window, placed exactly as torchvision's `center_crop`: the offset is
    /// (size − crop)/2 rounded half to even; a window larger than the image pads with black, ⌊(crop − size)/2⌋
    /// pixels on the left/top.
    public func centerCropped(width newWidth: Int, height newHeight: Int) -> RGBImage {
        precondition(newWidth >= 0 && newHeight >= 0, "RGBImage.centerCropped: size \(newWidth)×\(newHeight) is negative")
        let left = Self.cropOffset(size: width, crop: newWidth)
        let top = Self.cropOffset(size: height, crop: newHeight)
        var out = [UInt8](repeating: 0, count: newWidth * newHeight * 3)
        // Intersection of the window with the image, in window coordinates.
        let x0 = max(0, -left), x1 = min(newWidth, width - left)
        let y0 = max(0, -top), y1 = min(newHeight, height - top)
        if x0 < x1 && y0 < y1 {
            let rowBytes = (x1 - x0) * 3
            for y in y0..<y1 {
                let src = ((y + top) * width + x0 + left) * 3
                let dst = (y * newWidth + x0) * 3
                out.replaceSubrange(dst..<dst + rowBytes, with: pixels[src..<src + rowBytes])
            }
        }
        return RGBImage(width: newWidth, height: newHeight, pixels: out)
    }

    /// Image coordinate of the window's first pixel along one axis (negative when the window pads).
    static func cropOffset(size: Int, crop: Int) -> Int {
        if crop <= size { return Int((Double(size - crop) / 2).rounded(.toNearestOrEven)) }
        return -((crop - size) / 2)
    }

    public func flippedHorizontally() -> RGBImage {
        var out = pixels
        for y in 0..<height {
            let row = y * width * 3
            for x in 0..<width {
                let s = row + (width - 1 - x) * 3, d = row + x * 3
                out[d] = pixels[s]; out[d + 1] = pixels[s + 1]; out[d + 2] = pixels[s + 2]
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}

/// Per-output-index source taps (index, weight) for one axis, flattened: taps of output `i` are
/// `starts[i]..<starts[i + 1]`.
struct ResampleTaps {
    var indices: [Int] = []
    var weights: [Float] = []
    var starts: [Int] = [0]

    init(from inSize: Int, to outSize: Int) {
        let scale = Double(inSize) / Double(outSize)
        for i in 0..<outSize {
            if outSize == inSize {
                add(i, 1)
            } else if outSize < inSize {
                // Area: source interval [i·scale, (i+1)·scale), each pixel weighted by its overlap.
                let lo = Double(i) * scale, hi = Double(i + 1) * scale
                var j = Int(lo.rounded(.down))
                while Double(j) < hi && j < inSize {
                    let overlap = min(hi, Double(j + 1)) - max(lo, Double(j))
                    if overlap > 1e-12 { add(j, Float(overlap / scale)) }
                    j += 1
                }
            } else {
                // Bilinear: sample at the source position of the output pixel's centre, clamped at the edges.
                let centre = max((Double(i) + 0.5) * scale - 0.5, 0)
                let j0 = min(Int(centre.rounded(.down)), inSize - 1)
                let j1 = min(j0 + 1, inSize - 1)
                let f = Float(centre - Double(j0))
                add(j0, 1 - f)
                if f > 0 { add(j1, f) }
            }
            starts.append(indices.count)
        }
    }

    private mutating func add(_ index: Int, _ weight: Float) {
        indices.append(index)
        weights.append(weight)
    }

    @inline(__always) func range(_ i: Int) -> Range<Int> { starts[i]..<starts[i + 1] }
}
