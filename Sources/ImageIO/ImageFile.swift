// ImageFile: PNG/JPEG files ↔ RGBImage through the CImageCodecs shim (which catches libpng/libjpeg errors).
import CImageCodecs
import Files

/// PNG and JPEG files ↔ `RGBImage`. Decoding accepts every PNG colour type and bit depth (palette and gray
/// expand to RGB, 16-bit scales to 8 with rounding, interlacing is undone) and baseline/progressive JPEG
/// (YCbCr, RGB, grayscale, CMYK). Alpha and tRNS transparency are dropped — the stored colour is kept, not
/// composited; gamma/ICC chunks and EXIF orientation are ignored (values are used as stored, as PIL does).
/// Safe to call from several threads at once: the codecs keep no global state.
public enum ImageFile {
    /// Reads a PNG or JPEG, chosen by the file's signature (not its extension).
    public static func read(_ path: String) throws -> RGBImage {
        try decode(FileBytes.read(path), source: path)
    }

    /// Decodes PNG or JPEG bytes by signature; `source` names them in errors (a path or e.g. "row 17, jpg_0").
    public static func decode(_ bytes: [UInt8], source: String) throws -> RGBImage {
        switch ImageFormat.sniff(bytes) {
        case .png: return try decodeWith(cic_png_decode, bytes, source: source, format: "PNG")
        case .jpeg: return try decodeWith(cic_jpeg_decode, bytes, source: source, format: "JPEG")
        case .empty:
            throw ImageIOError(.empty, source: source, reason: "is empty (0 bytes)",
                               hint: "the file was not fully written or downloaded; recreate it")
        case .unknown(let description):
            throw ImageIOError(.unknownFormat, source: source, reason: "is not a PNG or JPEG (\(description))",
                               hint: "convert it to PNG or JPEG, or check that the path points at an image")
        }
    }

    /// Writes an 8-bit RGB PNG atomically (temp file + rename): readers never see a partial image.
    public static func writePNG(_ image: RGBImage, to path: String) throws {
        let bytes = try encodePNG(image, source: path)
        do {
            try AtomicFile.write(bytes, to: path)
        } catch let error as AtomicFileError {
            throw ImageIOError(.writeFailed, source: path, reason: "cannot be written (\(error.operation): \(error.reason))",
                               hint: "check that the directory is writable and the disk is not full")
        }
    }

    /// Encodes an 8-bit RGB PNG in memory.
    public static func encodePNG(_ image: RGBImage) throws -> [UInt8] {
        try encodePNG(image, source: "in-memory PNG")
    }

    private static func encodePNG(_ image: RGBImage, source: String) throws -> [UInt8] {
        guard image.width > 0, image.height > 0 else {
            throw ImageIOError(.invalidImage, source: source,
                               reason: "image is \(image.width)×\(image.height); PNG needs at least 1×1",
                               hint: "do not save empty images")
        }
        var message = [CChar](repeating: 0, count: Int(CIC_MESSAGE_CAPACITY))
        var output: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            Int(cic_png_encode_rgb(pixels.baseAddress, Int32(image.width), Int32(image.height), &output, &size, &message))
        }
        defer { cic_free(output) }
        guard status == CIC_OK, let output else {
            throw ImageIOError(status == CIC_ERR_NO_MEMORY ? .outOfMemory : .invalidImage, source: source,
                               reason: cString(message),
                               hint: "images must be at most \(CIC_MAX_SIDE) pixels per side and \(CIC_MAX_PIXELS) pixels")
        }
        return [UInt8](UnsafeBufferPointer(start: output, count: size))
    }

    private typealias Decoder = (UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<cic_image>?, UnsafeMutablePointer<CChar>?) -> Int32

    private static func decodeWith(_ decoder: Decoder, _ bytes: [UInt8], source: String, format: String) throws -> RGBImage {
        var message = [CChar](repeating: 0, count: Int(CIC_MESSAGE_CAPACITY))
        var image = cic_image(pixels: nil, width: 0, height: 0)
        let status = bytes.withUnsafeBufferPointer { Int(decoder($0.baseAddress, $0.count, &image, &message)) }
        defer { cic_free(image.pixels) }
        guard status == CIC_OK, let pixels = image.pixels else {
            throw error(status: status, format: format, source: source, reason: cString(message))
        }
        let count = Int(image.width) * Int(image.height) * 3
        return RGBImage(width: Int(image.width), height: Int(image.height),
                        pixels: [UInt8](UnsafeBufferPointer(start: pixels, count: count)))
    }

    private static func error(status: Int, format: String, source: String, reason: String) -> ImageIOError {
        let corrupt: ImageIOError.Kind = format == "PNG" ? .corruptPNG : .corruptJPEG
        switch status {
        case CIC_ERR_UNSUPPORTED:
            return ImageIOError(.unsupported, source: source, reason: "\(format) in an unsupported form: \(reason)",
                                hint: "re-save it as an 8-bit RGB PNG or JPEG")
        case CIC_ERR_TOO_LARGE:
            return ImageIOError(.tooLarge, source: source, reason: "\(format) too large: \(reason)",
                                hint: "downscale it before use")
        case CIC_ERR_NO_MEMORY:
            return ImageIOError(.outOfMemory, source: source, reason: "\(format) decoding ran out of memory: \(reason)",
                                hint: "free memory or downscale the image")
        default:
            return ImageIOError(corrupt, source: source, reason: "corrupt \(format): \(reason)",
                                hint: "the file is damaged or incomplete; re-download or re-export it")
        }
    }

    private static func cString(_ buffer: [CChar]) -> String {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
