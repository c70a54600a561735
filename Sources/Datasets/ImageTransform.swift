import ImageIO

/// The training transform of a dataset image: resize so the shorter side is the model resolution, take
/// the centred square, optionally mirror it, and convert to CHW floats in [-1, 1] (x/127.5 − 1).
/// Resampling and crop placement follow torchvision's Resize + CenterCrop (see `RGBImage+Geometry`).
public struct ImageTransform: Sendable, Equatable {
    public let resolution: Int

    public init(resolution: Int) throws {
        guard resolution > 0 else {
            throw DatasetError.invalidArgument("image resolution must be positive, got \(resolution)")
        }
        self.resolution = resolution
    }

    /// The resolution×resolution RGB image the model sees.
    public func apply(_ image: RGBImage, flip: Bool = false) -> RGBImage {
        var out = image
        if out.width != resolution || out.height != resolution {
            if min(out.width, out.height) != resolution { out = out.resizedShorterSide(to: resolution) }
            out = out.centerCropped(width: resolution, height: resolution)
        }
        return flip ? out.flippedHorizontally() : out
    }

    /// Writes the model input (3·resolution² floats, CHW, in [-1, 1]) to `out`.
    public func writeModelInput(_ image: RGBImage, flip: Bool = false, to out: UnsafeMutablePointer<Float>) {
        apply(image, flip: flip).writeCHW(to: out)
    }

    /// The model input as a new array.
    public func modelInput(_ image: RGBImage, flip: Bool = false) -> [Float] {
        var out = [Float](repeating: 0, count: 3 * resolution * resolution)
        out.withUnsafeMutableBufferPointer { writeModelInput(image, flip: flip, to: $0.baseAddress!) }
        return out
    }
}
