/// A Parquet file this reader cannot read, naming the file (and the column when one is at fault) and
/// what to do.
public struct ParquetError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Not a Parquet file, truncated, or internally inconsistent.
        case corrupt
        /// A valid file using a feature this reader does not implement (codec, encoding, nesting).
        case unsupported
        /// The file cannot be opened or read.
        case io
        /// The file lacks a column the caller needs, or holds it with an unusable type.
        case schema
    }

    public let kind: Kind
    public let file: String
    public let column: String?
    public let reason: String

    public init(_ kind: Kind, file: String, column: String? = nil, reason: String) {
        self.kind = kind
        self.file = file
        self.column = column
        self.reason = reason
    }

    public var description: String {
        let where_ = column.map { "\(file): column '\($0)'" } ?? file
        let advice: String
        switch kind {
        case .corrupt: advice = "The file is damaged or not Parquet: re-download the shard."
        case .unsupported:
            advice = "Re-write the shard with a supported layout, e.g. pyarrow.parquet.write_table(table, path, "
                + "compression='snappy') (codecs: uncompressed, snappy, gzip; encodings: plain, dictionary, RLE)."
        case .io: advice = "Check the path and permissions."
        case .schema: advice = "The shard must have the Pick-a-Pic columns (specs/pickapic-format.md)."
        }
        return "\(where_): \(reason). \(advice)"
    }
}

/// A bounds-checked little-endian cursor over bytes; every overrun is a `.corrupt` error, never a trap.
struct ByteCursor {
    let bytes: UnsafeRawBufferPointer
    var position: Int
    let end: Int
    /// Names the file/column in errors.
    let context: (file: String, column: String?)

    init(_ bytes: UnsafeRawBufferPointer, from start: Int = 0, to end: Int? = nil, context: (file: String, column: String?)) {
        self.bytes = bytes
        self.position = start
        self.end = end ?? bytes.count
        self.context = context
    }

    var remaining: Int { end - position }

    func corrupt(_ reason: String) -> ParquetError {
        ParquetError(.corrupt, file: context.file, column: context.column, reason: reason)
    }

    mutating func need(_ n: Int, _ what: String) throws {
        guard n >= 0, n <= remaining else {
            throw corrupt("\(what) runs past the end of its data (\(n) bytes needed, \(max(0, remaining)) left)")
        }
    }

    mutating func byte() throws -> UInt8 {
        try need(1, "a byte")
        defer { position += 1 }
        return bytes[position]
    }

    mutating func uint32LE() throws -> UInt32 {
        try need(4, "a 32-bit value")
        defer { position += 4 }
        return bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self).littleEndian
    }

    mutating func uint64LE() throws -> UInt64 {
        try need(8, "a 64-bit value")
        defer { position += 8 }
        return bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self).littleEndian
    }

    mutating func unsignedVarint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
            guard shift < 64 else { throw corrupt("a variable-length integer is longer than 10 bytes") }
        }
    }

    mutating func zigzagVarint() throws -> Int64 {
        let u = try unsignedVarint()
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    mutating func bytes(_ n: Int, _ what: String) throws -> UnsafeRawBufferPointer {
        try need(n, what)
        defer { position += n }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + n)])
    }

    mutating func skip(_ n: Int, _ what: String) throws {
        try need(n, what)
        position += n
    }
}
