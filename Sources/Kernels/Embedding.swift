/// Table lookup: out[i] = table[ids[i]] (rows of `dim`), and its backward, a scatter-add into the table
/// gradient. Ids are validated by the caller (the op), so the kernels never read outside the table.
public enum EmbeddingKernels {
    public static func forward(ids: UnsafePointer<Int32>, count: Int, table: UnsafePointer<Float>, dim: Int,
                               _ out: UnsafeMutablePointer<Float>) {
        Threading.parallelRanges(count, minChunk: max(1, (1 << 16) / max(1, dim))) { r in
            for i in r { (out + i * dim).update(from: table + Int(ids[i]) * dim, count: dim) }
        }
    }

    /// dTable[ids[i]] += dOut[i] for every i; dTable must be zeroed by the caller. Serial, because ids
    /// repeat (padding tokens) and the whole scatter is a few hundred thousand adds.
    public static func backward(ids: UnsafePointer<Int32>, count: Int, gradOutput dOut: UnsafePointer<Float>,
                                dim: Int, gradTable dTable: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            let src = dOut + i * dim, dst = dTable + Int(ids[i]) * dim
            FastMath.map(0..<dim, dst, src, dst, FastMath.Add())
        }
    }
}
