/// DEFLATE decompression (RFC 1951) with the gzip (RFC 1952) and zlib (RFC 1950) wrappers, for Parquet's
/// GZIP codec. Foundation on Linux exposes no zlib API, so this is a small self-contained decoder in the
/// style of zlib's contrib/puff: canonical Huffman codes decoded from code-length counts. It favours
/// clarity and safety over speed (GZIP shards are rare; Pick-a-Pic uses Snappy). Malformed input throws.
public enum Inflate {
    public struct Failure: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// Decompresses gzip members (concatenated members are joined), a zlib stream, or raw DEFLATE,
    /// recognised by their headers. `expectedSize` (when known) pre-sizes the output and is checked.
    public static func decompress(_ input: [UInt8], expectedSize: Int? = nil) throws -> [UInt8] {
        try input.withUnsafeBytes { try decompress($0, expectedSize: expectedSize) }
    }

    public static func decompress(_ input: UnsafeRawBufferPointer, expectedSize: Int? = nil) throws -> [UInt8] {
        var out: [UInt8] = []
        // Reserve modestly: a corrupt expected size must not allocate gigabytes up front.
        out.reserveCapacity(min(expectedSize ?? input.count * 4, input.count * 16 + 1024))
        // DEFLATE expands at most 1032:1; stop early past the expected size instead of growing without bound.
        let limit = expectedSize ?? (input.count * 1032 + 1024)
        if input.count >= 2, input[0] == 0x1F, input[1] == 0x8B {
            var pos = 0
            while pos < input.count {
                guard input.count - pos >= 18 else { throw Failure(reason: "gzip member is truncated") }
                guard input[pos] == 0x1F, input[pos + 1] == 0x8B else {
                    // Trailing padding zeros are tolerated, as gzip does.
                    if input[pos...].allSatisfy({ $0 == 0 }) { break }
                    throw Failure(reason: "garbage after a gzip member")
                }
                guard input[pos + 2] == 8 else { throw Failure(reason: "gzip compression method \(input[pos + 2]) is not deflate") }
                let flags = input[pos + 3]
                var p = pos + 10
                if flags & 4 != 0 {  // FEXTRA
                    guard p + 2 <= input.count else { throw Failure(reason: "gzip header is truncated") }
                    p += 2 + (Int(input[p]) | Int(input[p + 1]) << 8)
                }
                for flag in [UInt8(8), 16] where flags & flag != 0 {  // FNAME, FCOMMENT: zero-terminated
                    while p < input.count && input[p] != 0 { p += 1 }
                    p += 1
                }
                if flags & 2 != 0 { p += 2 }  // FHCRC
                guard p <= input.count else { throw Failure(reason: "gzip header is truncated") }
                let start = out.count
                var bits = BitReader(input, position: p)
                try inflate(&bits, into: &out, limit: limit)
                p = bits.bytePosition
                guard p + 8 <= input.count else { throw Failure(reason: "gzip trailer is truncated") }
                let crc = UInt32(input[p]) | UInt32(input[p + 1]) << 8 | UInt32(input[p + 2]) << 16 | UInt32(input[p + 3]) << 24
                let size = UInt32(input[p + 4]) | UInt32(input[p + 5]) << 8 | UInt32(input[p + 6]) << 16 | UInt32(input[p + 7]) << 24
                guard UInt32(truncatingIfNeeded: out.count - start) == size else {
                    throw Failure(reason: "gzip size check failed (data corrupt)")
                }
                guard CRC32.checksum(out[start...]) == crc else { throw Failure(reason: "gzip CRC check failed (data corrupt)") }
                pos = p + 8
            }
        } else if input.count >= 2, input[0] & 0x0F == 8, (UInt16(input[0]) << 8 | UInt16(input[1])) % 31 == 0 {
            guard input[1] & 0x20 == 0 else { throw Failure(reason: "zlib streams with a preset dictionary are not supported") }
            var bits = BitReader(input, position: 2)
            try inflate(&bits, into: &out, limit: limit)
        } else {
            var bits = BitReader(input, position: 0)
            try inflate(&bits, into: &out, limit: limit)
        }
        if let expected = expectedSize, out.count != expected {
            throw Failure(reason: "inflated to \(out.count) bytes, expected \(expected)")
        }
        return out
    }

    // MARK: Bits

    struct BitReader {
        let input: UnsafeRawBufferPointer
        var position: Int
        var buffer: UInt64 = 0
        var count = 0

        init(_ input: UnsafeRawBufferPointer, position: Int) {
            self.input = input
            self.position = position
        }

        /// `n` ≤ 32 bits, least significant first.
        mutating func bits(_ n: Int) throws -> Int {
            while count < n {
                guard position < input.count else { throw Failure(reason: "deflate data ends early") }
                buffer |= UInt64(input[position]) << UInt64(count)
                position += 1
                count += 8
            }
            let v = Int(buffer & ((1 << UInt64(n)) - 1))
            buffer >>= UInt64(n)
            count -= n
            return v
        }

        /// Drops the bits left in the current byte (stored blocks are byte aligned).
        mutating func alignToByte() {
            let drop = count % 8
            buffer >>= UInt64(drop)
            count -= drop
        }

        /// The first byte not consumed (buffered whole bytes are given back).
        var bytePosition: Int { position - count / 8 }
    }

    // MARK: Huffman

    /// A canonical Huffman code: the number of codes of each length and the symbols in code order.
    struct Huffman {
        var counts = [Int](repeating: 0, count: 16)
        var symbols: [Int]

        init(lengths: ArraySlice<Int>) throws {
            symbols = [Int](repeating: 0, count: lengths.count)
            for l in lengths { counts[l] += 1 }
            counts[0] = 0
            var left = 1
            for len in 1...15 {
                left <<= 1
                left -= counts[len]
                guard left >= 0 else { throw Failure(reason: "over-subscribed Huffman code") }
            }
            var offsets = [Int](repeating: 0, count: 16)
            for len in 1..<15 { offsets[len + 1] = offsets[len] + counts[len] }
            for (symbol, l) in lengths.enumerated() where l != 0 {
                symbols[offsets[l]] = symbol
                offsets[l] += 1
            }
        }

        func decode(_ bits: inout BitReader) throws -> Int {
            var code = 0, first = 0, index = 0
            for len in 1...15 {
                code |= try bits.bits(1)
                let count = counts[len]
                if code - count < first { return symbols[index + (code - first)] }
                index += count
                first += count
                first <<= 1
                code <<= 1
            }
            throw Failure(reason: "invalid Huffman code in deflate data")
        }
    }

    static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distanceBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
                               2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

    static let fixedCodes: (Huffman, Huffman)? = {
        var lengths = [Int](repeating: 8, count: 288)
        for i in 144..<256 { lengths[i] = 9 }
        for i in 256..<280 { lengths[i] = 7 }
        guard let lit = try? Huffman(lengths: lengths[...]),
              let dist = try? Huffman(lengths: [Int](repeating: 5, count: 30)[...]) else { return nil }
        return (lit, dist)
    }()

    // MARK: Blocks

    static func inflate(_ bits: inout BitReader, into out: inout [UInt8], limit: Int) throws {
        var last = 0
        while last == 0 {
            last = try bits.bits(1)
            switch try bits.bits(2) {
            case 0: try stored(&bits, into: &out, limit: limit)
            case 1:
                guard let (lit, dist) = fixedCodes else { throw Failure(reason: "fixed Huffman tables unavailable") }
                try codes(&bits, lit, dist, into: &out, limit: limit)
            case 2:
                let (lit, dist) = try dynamicTables(&bits)
                try codes(&bits, lit, dist, into: &out, limit: limit)
            default: throw Failure(reason: "invalid deflate block type 3")
            }
        }
    }

    static func stored(_ bits: inout BitReader, into out: inout [UInt8], limit: Int) throws {
        bits.alignToByte()
        let len = try bits.bits(16)
        let nlen = try bits.bits(16)
        guard len == (~nlen & 0xFFFF) else { throw Failure(reason: "stored block length check failed") }
        guard out.count + len <= limit else { throw Failure(reason: "deflate output exceeds the expected \(limit) bytes") }
        // Whole bytes may still sit in the bit buffer.
        for _ in 0..<len { out.append(UInt8(try bits.bits(8))) }
    }

    static func codes(_ bits: inout BitReader, _ lit: Huffman, _ dist: Huffman, into out: inout [UInt8], limit: Int) throws {
        while true {
            guard out.count <= limit else { throw Failure(reason: "deflate output exceeds the expected \(limit) bytes") }
            let symbol = try lit.decode(&bits)
            if symbol < 256 {
                out.append(UInt8(symbol))
            } else if symbol == 256 {
                return
            } else {
                let li = symbol - 257
                guard li < 29 else { throw Failure(reason: "invalid deflate length code") }
                let length = lengthBase[li] + (try bits.bits(lengthExtra[li]))
                let di = try dist.decode(&bits)
                guard di < 30 else { throw Failure(reason: "invalid deflate distance code") }
                let distance = distanceBase[di] + (try bits.bits(distanceExtra[di]))
                guard distance <= out.count else { throw Failure(reason: "deflate distance points before the start") }
                let from = out.count - distance
                for i in 0..<length { out.append(out[from + i]) }
            }
        }
    }

    static func dynamicTables(_ bits: inout BitReader) throws -> (Huffman, Huffman) {
        let nlen = try bits.bits(5) + 257
        let ndist = try bits.bits(5) + 1
        let ncode = try bits.bits(4) + 4
        guard nlen <= 286, ndist <= 30 else { throw Failure(reason: "bad deflate code counts") }
        let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
        var lengths = [Int](repeating: 0, count: 19)
        for i in 0..<ncode { lengths[order[i]] = try bits.bits(3) }
        let lencode = try Huffman(lengths: lengths[...])
        var all = [Int](repeating: 0, count: nlen + ndist)
        var index = 0
        while index < nlen + ndist {
            var symbol = try lencode.decode(&bits)
            if symbol < 16 {
                all[index] = symbol
                index += 1
                continue
            }
            var repeatValue = 0
            if symbol == 16 {
                guard index > 0 else { throw Failure(reason: "deflate repeat with no previous length") }
                repeatValue = all[index - 1]
                symbol = 3 + (try bits.bits(2))
            } else if symbol == 17 {
                symbol = 3 + (try bits.bits(3))
            } else {
                symbol = 11 + (try bits.bits(7))
            }
            guard index + symbol <= nlen + ndist else { throw Failure(reason: "too many deflate code lengths") }
            for _ in 0..<symbol { all[index] = repeatValue; index += 1 }
        }
        guard all[256] != 0 else { throw Failure(reason: "deflate block has no end-of-block code") }
        return (try Huffman(lengths: all[0..<nlen]), try Huffman(lengths: all[nlen...]))
    }
}

/// CRC-32 (IEEE 802.3, reflected, as gzip), table driven.
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    public static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
