import Foundation

/// The four arithmetic operators the elementwise kernels implement.
public enum BinaryOperator: Sendable {
    case add, subtract, multiply, divide
}

/// Two operands broadcast (NumPy rules) to an output shape, reduced to as few dimensions as possible.
///
/// Size-1 output dimensions are dropped and adjacent dimensions are merged wherever both operands walk
/// them the same way (both contiguous or both broadcast). The common U-Net cases then become 2-D loops
/// with a contiguous inner row: [N,C,H,W] ⊕ [N,C,1,1] is [N·C, H·W] with b a scalar per row;
/// [M,D] ⊕ [D] and [B,L,D] ⊕ [1,L,D] are [rows, inner] with b a repeated contiguous row.
public struct BroadcastPlan: Sendable {
    /// Merged output dimensions (at least one; the last is the contiguous inner row).
    public let dims: [Int]
    /// Element strides of each operand per merged dimension (0 where it is broadcast).
    public let strideA: [Int]
    public let strideB: [Int]
    public let count: Int

    public var inner: Int { dims[dims.count - 1] }
    public var rows: Int { inner == 0 ? 0 : count / inner }

    /// NumPy broadcast of two shapes, or nil when they are incompatible.
    public static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
        }
        return out
    }

    /// `a` and `b` must broadcast to `output` (right-aligned, NumPy rules).
    public init(output: [Int], a: [Int], b: [Int]) {
        precondition(a.count <= output.count && b.count <= output.count, "broadcast: \(a), \(b) → \(output)")
        func strides(_ s: [Int]) -> [Int] {
            // Right-align, then contiguous strides with 0 on broadcast dimensions.
            let padded = [Int](repeating: 1, count: output.count - s.count) + s
            var st = [Int](repeating: 0, count: output.count)
            var acc = 1
            for i in stride(from: output.count - 1, through: 0, by: -1) {
                precondition(padded[i] == output[i] || padded[i] == 1, "broadcast: \(s) does not broadcast to \(output)")
                st[i] = padded[i] == 1 ? 0 : acc
                acc *= padded[i]
            }
            return st
        }
        let sa = strides(a), sb = strides(b)
        // Merge from the innermost dimension outwards.
        var d: [Int] = [], ma: [Int] = [], mb: [Int] = []
        for i in stride(from: output.count - 1, through: 0, by: -1) where output[i] != 1 {
            if let last = d.last, sa[i] == ma[ma.count - 1] * last, sb[i] == mb[mb.count - 1] * last {
                d[d.count - 1] *= output[i]
            } else {
                d.append(output[i]); ma.append(sa[i]); mb.append(sb[i])
            }
        }
        if d.isEmpty { d = [1]; ma = [1]; mb = [1] }
        dims = Array(d.reversed()); strideA = Array(ma.reversed()); strideB = Array(mb.reversed())
        count = output.reduce(1, *)
    }

    /// Offsets of both operands at the start of inner row `row`.
    @inline(__always)
    func offsets(row: Int) -> (Int, Int) {
        var r = row, oa = 0, ob = 0
        var k = dims.count - 2
        while k >= 0 {
            let i = r % dims[k]
            r /= dims[k]
            oa += i * strideA[k]
            ob += i * strideB[k]
            k -= 1
        }
        return (oa, ob)
    }
}

/// Elementwise arithmetic with broadcasting, and the reduction of a gradient back over broadcast dimensions.
public enum ElementwiseKernels {
    // One generic body per loop shape, specialised per operator at compile time (no closure per element).
    protocol Op { static func apply(_ a: Float, _ b: Float) -> Float }
    enum Add: Op { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a + b } }
    enum Sub: Op { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a - b } }
    enum Mul: Op { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a * b } }
    enum Div: Op { @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a / b } }

    // MARK: Same shape

    /// out[i] = a[i] ⊕ b[i]. `out` may alias `a` or `b`.
    public static func binary(_ op: BinaryOperator, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                              _ out: UnsafeMutablePointer<Float>, count: Int) {
        switch op {
        case .add: same(Add.self, a, b, out, count)
        case .subtract: same(Sub.self, a, b, out, count)
        case .multiply: same(Mul.self, a, b, out, count)
        case .divide: same(Div.self, a, b, out, count)
        }
    }

    static func same<O: Op>(_: O.Type, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                            _ out: UnsafeMutablePointer<Float>, _ count: Int) {
        Threading.parallelRanges(count) { r in
            for i in r { out[i] = O.apply(a[i], b[i]) }
        }
    }

    // MARK: With a scalar

    /// out[i] = a[i] ⊕ s, or s ⊕ a[i] when `scalarFirst`. `out` may alias `a`.
    public static func binary(_ op: BinaryOperator, _ a: UnsafePointer<Float>, scalar s: Float, scalarFirst: Bool = false,
                              _ out: UnsafeMutablePointer<Float>, count: Int) {
        switch (op, scalarFirst) {
        case (.add, _): scalarRight(Add.self, a, s, out, count)
        case (.multiply, _): scalarRight(Mul.self, a, s, out, count)
        case (.subtract, false): scalarRight(Sub.self, a, s, out, count)
        case (.divide, false): scalarRight(Div.self, a, s, out, count)
        case (.subtract, true): scalarLeft(Sub.self, s, a, out, count)
        case (.divide, true): scalarLeft(Div.self, s, a, out, count)
        }
    }

    static func scalarRight<O: Op>(_: O.Type, _ a: UnsafePointer<Float>, _ s: Float,
                                   _ out: UnsafeMutablePointer<Float>, _ count: Int) {
        Threading.parallelRanges(count) { r in
            for i in r { out[i] = O.apply(a[i], s) }
        }
    }

    static func scalarLeft<O: Op>(_: O.Type, _ s: Float, _ a: UnsafePointer<Float>,
                                  _ out: UnsafeMutablePointer<Float>, _ count: Int) {
        Threading.parallelRanges(count) { r in
            for i in r { out[i] = O.apply(s, a[i]) }
        }
    }

    /// out[i] = −x[i].
    public static func negate(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count: Int) {
        Threading.parallelRanges(count) { r in
            for i in r { out[i] = -x[i] }
        }
    }

    // MARK: Broadcast

    /// out = a ⊕ b with the operands laid out as `plan` describes (out is contiguous, `plan.count` values).
    public static func binary(_ op: BinaryOperator, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                              _ out: UnsafeMutablePointer<Float>, plan: BroadcastPlan) {
        switch op {
        case .add: broadcast(Add.self, a, b, out, plan)
        case .subtract: broadcast(Sub.self, a, b, out, plan)
        case .multiply: broadcast(Mul.self, a, b, out, plan)
        case .divide: broadcast(Div.self, a, b, out, plan)
        }
    }

    static func broadcast<O: Op>(_: O.Type, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                 _ out: UnsafeMutablePointer<Float>, _ plan: BroadcastPlan) {
        let n = plan.inner
        guard n > 0 else { return }
        let ia = plan.strideA[plan.dims.count - 1], ib = plan.strideB[plan.dims.count - 1]
        Threading.parallelRanges(plan.rows, minChunk: max(1, (1 << 16) / n)) { rows in
            for row in rows {
                let (oa, ob) = plan.offsets(row: row)
                let pa = a + oa, pb = b + ob, po = out + row * n
                // After merging, at least one operand is contiguous along the inner row.
                if ia == 1 && ib == 1 {
                    for i in 0..<n { po[i] = O.apply(pa[i], pb[i]) }
                } else if ia == 1 {
                    let s = pb[0]
                    for i in 0..<n { po[i] = O.apply(pa[i], s) }
                } else {
                    let s = pa[0]
                    for i in 0..<n { po[i] = O.apply(s, pb[i]) }
                }
            }
        }
    }

    /// Sums `g` (shape `from`) over the dimensions along which `to` was broadcast, into `out` (shape `to`).
    /// This is the backward of broadcasting. `to` must broadcast to `from`.
    public static func sumToShape(_ g: UnsafePointer<Float>, from: [Int], _ out: UnsafeMutablePointer<Float>, to: [Int]) {
        let plan = BroadcastPlan(output: from, a: to, b: from)
        let targetCount = to.reduce(1, *)
        out.initialize(repeating: 0, count: targetCount)
        let n = plan.inner
        guard n > 0, plan.count > 0 else { return }
        let ia = plan.strideA[plan.dims.count - 1]
        // Rows of different ranges may hit the same target values: each range sums into its own buffer.
        let parts = min(Threading.cores, max(1, plan.count / (1 << 16)))
        let partial = parts == 1 ? out : UnsafeMutablePointer<Float>.allocate(capacity: (parts - 1) * targetCount)
        defer { if parts > 1 { partial.deallocate() } }
        if parts > 1 { partial.initialize(repeating: 0, count: (parts - 1) * targetCount) }
        let rows = plan.rows
        Threading.parallelFor(parts) { p in
            let dst = p == 0 ? out : partial + (p - 1) * targetCount
            for row in (rows * p / parts)..<(rows * (p + 1) / parts) {
                let (oa, _) = plan.offsets(row: row)
                let src = g + row * n
                if ia == 1 {
                    let d = dst + oa
                    for i in 0..<n { d[i] += src[i] }
                } else {
                    dst[oa] += Float(ReductionKernels.sum(src, count: n))
                }
            }
        }
        for p in 1..<max(parts, 1) {
            let src = partial + (p - 1) * targetCount
            for i in 0..<targetCount { out[i] += src[i] }
        }
    }
}
