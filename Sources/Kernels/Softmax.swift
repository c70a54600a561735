/// Softmax along one axis of a tensor seen as [outer, axis, inner], forward and backward.
/// The row functions (inner = 1) are also the softmax inside attention, so they never spawn threads.
public enum SoftmaxKernels {
    public typealias V = SIMD16<Float>

    // MARK: Elementwise pieces (structs, so `FastMath.map` inlines them)

    @usableFromInline struct Scale: VectorFunction {
        @usableFromInline let s: V
        @inlinable init(_ s: Float) { self.s = V(repeating: s) }
        @inlinable @inline(__always) func callAsFunction(_ x: V) -> V { x * s }
    }

    /// y·(dy − dot) for one row's dot = Σ dy·y
    @usableFromInline struct RowGradient: VectorFunction2 {
        @usableFromInline let dot: V
        @inlinable init(_ dot: Float) { self.dot = V(repeating: dot) }
        @inlinable @inline(__always) func callAsFunction(_ y: V, _ g: V) -> V { y * (g - dot) }
    }

    struct Maximum: VectorFunction2 {
        @inline(__always) func callAsFunction(_ a: V, _ b: V) -> V { a.replacing(with: b, where: b .> a) }
    }

    /// exp(x − max)
    struct ShiftedExp: VectorFunction2 {
        @inline(__always) func callAsFunction(_ x: V, _ m: V) -> V { FastMath.exp(x - m) }
    }

    /// exp(x − c) for one constant c
    @usableFromInline struct ShiftedExpScalar: VectorFunction {
        @usableFromInline let c: V
        @inlinable init(_ c: Float) { self.c = V(repeating: c) }
        @inlinable @inline(__always) func callAsFunction(_ x: V) -> V { FastMath.exp(x - c) }
    }

    struct Divide: VectorFunction2 {
        @inline(__always) func callAsFunction(_ a: V, _ b: V) -> V { a / b }
    }

    /// running Σ dy·y per column
    struct AccumulateProduct: VectorFunction3 {
        @inline(__always) func callAsFunction(_ y: V, _ g: V, _ acc: V) -> V { acc.addingProduct(y, g) }
    }

    /// y·(dy − dot) per column
    struct ColumnGradient: VectorFunction3 {
        @inline(__always) func callAsFunction(_ y: V, _ g: V, _ dot: V) -> V { y * (g - dot) }
    }

    /// y = exp(x − max x) / Σ exp(x − max x) over one contiguous row of n (x may equal y). Returns max x
    /// and Σ exp(x − max x): the row's log Σ exp x = max + log(sum), from which `probabilitiesRow` rebuilds y.
    @inlinable @discardableResult
    public static func softmaxRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                  _ n: Int) -> (max: Float, sum: Float) {
        guard n > 0 else { return (-.infinity, 0) }
        var mv = V(repeating: -.infinity)
        var i = 0
        while i + 16 <= n {
            let v = FastMath.load(x + i)
            mv = mv.replacing(with: v, where: v .> mv)
            i += 16
        }
        var m = FastMath.horizontalMax(mv)
        while i < n { m = Swift.max(m, x[i]); i += 1 }
        let shift = V(repeating: m)
        var acc = V(repeating: 0)
        i = 0
        while i + 16 <= n {
            let e = FastMath.exp(FastMath.load(x + i) - shift)
            FastMath.store(e, y + i)
            acc += e
            i += 16
        }
        if i < n {
            // Pad with −∞ so the unused lanes add exp(−∞) = 0 to the sum.
            let e = FastMath.exp(FastMath.load(x + i, count: n - i, pad: -.infinity) - shift)
            FastMath.store(e, y + i, count: n - i)
            acc += e
        }
        let total = FastMath.horizontalSum(acc)
        FastMath.map(0..<n, y, y, Scale(1 / total))
        return (m, total)
    }

    /// exp(x − logSumExp) in place over one row of n: the softmax again from the logits and the value
    /// `softmaxRow` returned (attention's backward recomputes P this way instead of keeping it).
    @inlinable
    public static func probabilitiesRow(_ x: UnsafeMutablePointer<Float>, logSumExp: Float, _ n: Int) {
        FastMath.map(0..<n, x, x, ShiftedExpScalar(logSumExp))
    }

    /// dx = y·(dy − Σ dy·y) over one row of n (dx may equal dy).
    @inlinable
    public static func softmaxRowBackward(_ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                          _ dx: UnsafeMutablePointer<Float>, _ n: Int) {
        var acc = V(repeating: 0)
        var i = 0
        while i + 16 <= n {
            acc = acc.addingProduct(FastMath.load(y + i), FastMath.load(dy + i))
            i += 16
        }
        var dot = FastMath.horizontalSum(acc)
        while i < n { dot += y[i] * dy[i]; i += 1 }
        FastMath.map(0..<n, y, dy, dx, RowGradient(dot))
    }

    /// Softmax over the middle axis of x: [outer, axis, inner] → y of the same shape.
    public static func softmaxForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                      outer: Int, axis: Int, inner: Int) {
        guard axis > 0, inner > 0 else { return }
        let block = axis * inner
        Threading.parallelRanges(outer, minChunk: max(1, (1 << 16) / block)) { r in
            if inner == 1 {
                for o in r { softmaxRow(x + o * axis, y + o * axis, axis) }
                return
            }
            // Strided: each of the axis rows is a contiguous vector of `inner` columns, so the column-wise
            // max, exp and sum are vectorised across columns.
            let colMax = UnsafeMutablePointer<Float>.allocate(capacity: 2 * inner)
            defer { colMax.deallocate() }
            let colSum = colMax + inner
            for o in r {
                let xb = x + o * block, yb = y + o * block
                colMax.update(from: xb, count: inner)
                for a in 1..<axis {
                    FastMath.map(0..<inner, colMax, xb + a * inner, colMax, Maximum())
                }
                colSum.initialize(repeating: 0, count: inner)
                for a in 0..<axis {
                    FastMath.map(0..<inner, xb + a * inner, colMax, yb + a * inner, ShiftedExp())
                    FastMath.map(0..<inner, colSum, yb + a * inner, colSum, FastMath.Add())
                }
                for a in 0..<axis {
                    FastMath.map(0..<inner, yb + a * inner, colSum, yb + a * inner, Divide())
                }
            }
        }
    }

    /// dx = y·(dy − Σ_axis dy·y), from the saved output y.
    public static func softmaxBackward(_ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                       _ dx: UnsafeMutablePointer<Float>, outer: Int, axis: Int, inner: Int) {
        guard axis > 0, inner > 0 else { return }
        let block = axis * inner
        Threading.parallelRanges(outer, minChunk: max(1, (1 << 16) / block)) { r in
            if inner == 1 {
                for o in r { softmaxRowBackward(y + o * axis, dy + o * axis, dx + o * axis, axis) }
                return
            }
            let dots = UnsafeMutablePointer<Float>.allocate(capacity: inner)
            defer { dots.deallocate() }
            for o in r {
                let yb = y + o * block, gb = dy + o * block, db = dx + o * block
                dots.initialize(repeating: 0, count: inner)
                for a in 0..<axis {
                    FastMath.map(0..<inner, yb + a * inner, gb + a * inner, dots, dots, AccumulateProduct())
                }
                for a in 0..<axis {
                    FastMath.map(0..<inner, yb + a * inner, gb + a * inner, dots, db + a * inner, ColumnGradient())
                }
            }
        }
    }
}
