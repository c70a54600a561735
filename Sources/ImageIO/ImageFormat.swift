// ImageFormat: recognises PNG and JPEG by their leading bytes, and describes anything else for errors.

enum ImageFormat: Equatable {
    case png, jpeg, empty
    /// Not an image we read; the payload says what it looks like ("text starting with …", "bytes 00 01 …").
    case unknown(String)

    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    static func sniff(_ bytes: [UInt8]) -> ImageFormat {
        if bytes.isEmpty { return .empty }
        if bytes.starts(with: pngSignature) { return .png }
        if bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF { return .jpeg }
        return .unknown(describe(bytes))
    }

    private static func describe(_ bytes: [UInt8]) -> String {
        let head = bytes.prefix(16)
        if bytes.starts(with: pngSignature.prefix(bytes.count)) { return "only \(bytes.count) bytes of a PNG signature" }
        if bytes.starts(with: [0x52, 0x49, 0x46, 0x46]) && bytes.count >= 12 && Array(bytes[8..<12]) == [0x57, 0x45, 0x42, 0x50] {
            return "looks like WebP"
        }
        if bytes.starts(with: [0x47, 0x49, 0x46, 0x38]) { return "looks like GIF" }
        let printable = head.allSatisfy { ($0 >= 0x20 && $0 < 0x7F) || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        if printable {
            let text = String(decoding: head, as: UTF8.self).map { $0 == "\n" ? "\\n" : String($0) }.joined()
            return "looks like text starting with \"\(text)\""
        }
        return "starts with bytes " + head.prefix(8).map { hex($0) }.joined(separator: " ")
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }
}
