import Foundation

/// Copies that change layout: permutation (transpose), and concatenation/slicing along an axis.
public enum LayoutKernels {
    /// out = x with its dimensions reordered: output dimension i is input dimension `order[i]` (torch `permute`).
    public static func permute(_ x: UnsafePointer<Float>, shape: [Int], order: [Int], _ out: UnsafeMutablePointer<Float>) {
        let count = shape.reduce(1, *)
        guard count > 0 else { return }
        var inStride = [Int](repeating: 1, count: shape.count)
        for i in stride(from: shape.count - 2, through: 0, by: -1) { inStride[i] = inStride[i + 1] * shape[i + 1] }
        // Output dimensions with their input strides; drop size-1 ones and merge runs that stay contiguous.
        var dims: [Int] = [], strides: [Int] = []
        for i in order where shape[i] != 1 {
            // Merge into the previous (outer) dimension when it steps exactly over this one.
            if !dims.isEmpty, strides[strides.count - 1] == inStride[i] * shape[i] {
                dims[dims.count - 1] *= shape[i]
                strides[strides.count - 1] = inStride[i]
            } else {
                dims.append(shape[i]); strides.append(inStride[i])
            }
        }
        if dims.isEmpty { out[0] = x[0]; return }
        var outStride = [Int](repeating: 1, count: dims.count)
        for i in stride(from: dims.count - 2, through: 0, by: -1) { outStride[i] = outStride[i + 1] * dims[i + 1] }
        let last = dims.count - 1
        if strides[last] == 1 {
            // Contiguous inner rows: copy row by row.
            let n = dims[last], rows = count / n
            Threading.parallelRanges(rows, minChunk: max(1, (1 << 16) / n)) { r in
                for row in r {
                    var rem = row, off = 0
                    for k in stride(from: last - 1, through: 0, by: -1) {
                        off += (rem % dims[k]) * strides[k]; rem /= dims[k]
                    }
                    (out + row * n).update(from: x + off, count: n)
                }
            }
            return
        }
        // A transpose: the input-contiguous dimension j is not innermost in the output. Copy 2-D tiles of
        // (j, last) so both reads and writes stay within a few cache lines.
        guard let j = strides.firstIndex(of: 1) else { preconditionFailure("permute: no contiguous input dimension") }
        let tile = 16
        let da = dims[j], db = dims[last], sb = strides[last], oa = outStride[j]
        let tilesA = (da + tile - 1) / tile
        let others = count / (da * db)
        Threading.parallelRanges(others * tilesA, minChunk: max(1, (1 << 16) / (tile * db))) { r in
            for unit in r {
                let ta = unit % tilesA
                var rem = unit / tilesA, inBase = 0, outBase = 0
                for k in stride(from: last - 1, through: 0, by: -1) where k != j {
                    let i = rem % dims[k]; rem /= dims[k]
                    inBase += i * strides[k]; outBase += i * outStride[k]
                }
                let a0 = ta * tile, a1 = min(da, a0 + tile)
                var b0 = 0
                while b0 < db {
                    let b1 = min(db, b0 + tile)
                    for a in a0..<a1 {
                        let dst = out + outBase + a * oa, src = x + inBase + a
                        for b in b0..<b1 { dst[b] = src[b * sb] }
                    }
                    b0 = b1
                }
            }
        }
    }

    /// Concatenation along an axis: x viewed as [outer, rest]: input i contributes a block of `blocks[i]`
    /// floats per outer index (its axis length × the inner size), placed side by side in `out`.
    public static func concat(_ inputs: [UnsafePointer<Float>], blocks: [Int], outer: Int, _ out: UnsafeMutablePointer<Float>) {
        let total = blocks.reduce(0, +)
        var offsets = [Int](repeating: 0, count: blocks.count)
        for i in 1..<max(blocks.count, 1) { offsets[i] = offsets[i - 1] + blocks[i - 1] }
        Threading.parallelRanges(outer, minChunk: max(1, (1 << 16) / max(total, 1))) { r in
            for o in r {
                for i in 0..<inputs.count where blocks[i] > 0 {
                    (out + o * total + offsets[i]).update(from: inputs[i] + o * blocks[i], count: blocks[i])
                }
            }
        }
    }

    /// The inverse of `concat` for one part: out [outer, block] = x[:, offset ..< offset + block] of x [outer, total].
    public static func slice(_ x: UnsafePointer<Float>, outer: Int, total: Int, offset: Int, block: Int,
                             _ out: UnsafeMutablePointer<Float>) {
        guard block > 0 else { return }
        Threading.parallelRanges(outer, minChunk: max(1, (1 << 16) / block)) { r in
            for o in r { (out + o * block).update(from: x + o * total + offset, count: block) }
        }
    }

    /// The backward of `slice`: dx [outer, total] is zero except dx[:, offset ..< offset + block] = g.
    public static func unslice(_ g: UnsafePointer<Float>, outer: Int, total: Int, offset: Int, block: Int,
                               _ dx: UnsafeMutablePointer<Float>) {
        Threading.parallelRanges(outer, minChunk: max(1, (1 << 16) / max(total, 1))) { r in
            for o in r {
                let row = dx + o * total
                row.initialize(repeating: 0, count: offset)
                (row + offset).update(from: g + o * block, count: block)
                (row + offset + block).initialize(repeating: 0, count: total - offset - block)
            }
        }
    }
}
