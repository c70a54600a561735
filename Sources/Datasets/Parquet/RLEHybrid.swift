/// Parquet's RLE / bit-packing hybrid encoding, used for definition levels, dictionary indices and RLE
/// booleans. A sequence of runs, each introduced by a varint header: an even header is an RLE run of
/// header/2 copies of one value stored in ceil(bitWidth/8) little-endian bytes; an odd header is
/// header/2 groups of 8 values bit-packed LSB first (bitWidth bits each).
/// Reference: parquet-format Encodings.md, "Run Length Encoding / Bit-Packing Hybrid".
public enum RLEHybrid {
    /// Decodes `count` values from `bytes` (errors name `file`).
    public static func decode(_ bytes: [UInt8], bitWidth: Int, count: Int, file: String = "RLE data") throws -> [Int32] {
        try bytes.withUnsafeBytes { raw in
            var cursor = ByteCursor(raw, context: (file, nil))
            return try decode(&cursor, bitWidth: bitWidth, count: count)
        }
    }

    /// Decodes `count` values from `cursor` (which should span exactly the encoded runs: the last
    /// bit-packed group may hold padding values, which are dropped).
    static func decode(_ cursor: inout ByteCursor, bitWidth: Int, count: Int) throws -> [Int32] {
        guard bitWidth >= 0, bitWidth <= 32 else { throw cursor.corrupt("RLE bit width \(bitWidth) is larger than 32") }
        var out = [Int32]()
        out.reserveCapacity(min(count, 1 << 20))
        if bitWidth == 0 {
            // Every value is 0; the runs carry no payload worth reading.
            return [Int32](repeating: 0, count: count)
        }
        let byteWidth = (bitWidth + 7) / 8
        let mask: UInt64 = bitWidth == 32 ? 0xFFFF_FFFF : (1 << UInt64(bitWidth)) - 1
        while out.count < count {
            let header = try cursor.unsignedVarint()
            if header & 1 == 0 {
                let run = Int(clamping: header >> 1)
                guard run > 0 else { throw cursor.corrupt("RLE run of length 0") }
                var value: UInt32 = 0
                for i in 0..<byteWidth { value |= UInt32(try cursor.byte()) << UInt32(8 * i) }
                let n = min(run, count - out.count)
                out.append(contentsOf: repeatElement(Int32(bitPattern: value), count: n))
            } else {
                let groups = Int(clamping: header >> 1)
                guard groups > 0, groups <= cursor.remaining else {
                    throw cursor.corrupt("bit-packed run of \(groups) groups runs past the end of the page")
                }
                let bytes = try cursor.bytes(groups * bitWidth, "a bit-packed run")
                var buffer: UInt64 = 0
                var held = 0
                var index = 0
                let values = min(groups * 8, count - out.count)
                for _ in 0..<values {
                    while held < bitWidth {
                        buffer |= UInt64(bytes[index]) << UInt64(held)
                        index += 1
                        held += 8
                    }
                    out.append(Int32(bitPattern: UInt32(truncatingIfNeeded: buffer & mask)))
                    buffer >>= UInt64(bitWidth)
                    held -= bitWidth
                }
            }
        }
        return out
    }

    /// Bits needed to store values 0...maxValue (0 for maxValue 0).
    public static func bitWidth(forMax maxValue: Int) -> Int {
        maxValue <= 0 ? 0 : Int.bitWidth - maxValue.leadingZeroBitCount
    }
}
