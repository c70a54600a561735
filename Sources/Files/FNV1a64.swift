/// FNV-1a, 64-bit (offset basis 0xcbf29ce484222325, prime 0x100000001b3) over raw bytes, fed in pieces:
/// a stable, platform-independent hash for file names and data splits (Swift's `Hasher` is seeded per run).
public struct FNV1a64 {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    /// The hash of a string's UTF-8 bytes.
    public static func hash(_ text: String) -> UInt64 {
        var h = FNV1a64()
        h.add(Array(text.utf8))
        return h.value
    }

    /// Feeds the in-memory bytes of `values` (trivial types: integers, floats, bytes).
    public mutating func add<T>(_ values: [T]) {
        values.withUnsafeBytes { bytes in
            for b in bytes {
                value ^= UInt64(b)
                value = value &* 0x0000_0100_0000_01b3
            }
        }
    }
}
