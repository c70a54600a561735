/// Decompressor for raw Snappy blocks (the format Parquet's SNAPPY codec stores per page; not the framed
/// stream format). Format: a varint of the uncompressed length, then elements whose tag's low two bits
/// select a literal (00) or a back-reference with a 1-, 2- or 4-byte offset (01, 10, 11).
/// Reference: google/snappy format_description.txt. Malformed input throws, never reads out of bounds.
public enum Snappy {
    public struct Failure: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// `expectedSize` (the page header's uncompressed size) is checked against the stream's own length
    /// header before anything is allocated, so a corrupt header cannot request gigabytes.
    public static func decompress(_ input: UnsafeRawBufferPointer, expectedSize: Int? = nil) throws -> [UInt8] {
        var pos = 0
        func byte() throws -> Int {
            guard pos < input.count else { throw Failure(reason: "snappy data ends early") }
            defer { pos += 1 }
            return Int(input[pos])
        }
        // Uncompressed length: a little-endian base-128 varint of at most 32 bits.
        var length = 0
        var shift = 0
        while true {
            let b = try byte()
            length |= (b & 0x7F) << shift
            if b & 0x80 == 0 { break }
            shift += 7
            guard shift <= 28 else { throw Failure(reason: "snappy length header is too long") }
        }
        if let expectedSize, expectedSize != length {
            throw Failure(reason: "snappy data declares \(length) bytes, the page header \(expectedSize)")
        }
        // Snappy expands at most ~21× (a 3-byte copy tag yields 64 bytes): a larger claim is corrupt.
        guard length <= input.count * 22 + 64 else { throw Failure(reason: "snappy length \(length) is impossible for \(input.count) input bytes") }
        var out = [UInt8](repeating: 0, count: length)
        var o = 0
        try out.withUnsafeMutableBufferPointer { dst in
            while pos < input.count {
                let tag = try byte()
                switch tag & 3 {
                case 0:
                    var n = tag >> 2
                    if n >= 60 {
                        let extra = n - 59
                        n = 0
                        for i in 0..<extra { n |= try byte() << (8 * i) }
                    }
                    n += 1
                    guard n <= input.count - pos else { throw Failure(reason: "snappy literal runs past the input") }
                    guard n <= length - o else { throw Failure(reason: "snappy literal overflows the declared length") }
                    for i in 0..<n { dst[o + i] = input[pos + i] }
                    pos += n
                    o += n
                default:
                    let n: Int, offset: Int
                    switch tag & 3 {
                    case 1:
                        n = 4 + ((tag >> 2) & 7)
                        offset = ((tag >> 5) << 8) | (try byte())
                    case 2:
                        n = 1 + (tag >> 2)
                        offset = (try byte()) | ((try byte()) << 8)
                    default:
                        n = 1 + (tag >> 2)
                        offset = (try byte()) | ((try byte()) << 8) | ((try byte()) << 16) | ((try byte()) << 24)
                    }
                    guard offset > 0, offset <= o else { throw Failure(reason: "snappy copy offset \(offset) points before the start") }
                    guard n <= length - o else { throw Failure(reason: "snappy copy overflows the declared length") }
                    // Byte by byte: source and destination may overlap (runs).
                    for i in 0..<n { dst[o + i] = dst[o - offset + i] }
                    o += n
                }
            }
        }
        guard o == length else { throw Failure(reason: "snappy data holds \(o) bytes, header says \(length)") }
        return out
    }

    public static func decompress(_ input: [UInt8], expectedSize: Int? = nil) throws -> [UInt8] {
        try input.withUnsafeBytes { try decompress($0, expectedSize: expectedSize) }
    }
}
