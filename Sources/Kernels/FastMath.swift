/// An elementwise function of one SIMD vector. Kernels hand `FastMath.map` small structs conforming to
/// these protocols rather than closures: generic specialisation reliably inlines them into the loop,
/// while closure bodies were left as out-of-line calls (3–5× slower, measured on exp and sigmoid).
public protocol VectorFunction {
    func callAsFunction(_ x: SIMD16<Float>) -> SIMD16<Float>
}

/// An elementwise function of two SIMD vectors (e.g. x and dy → dx).
public protocol VectorFunction2 {
    func callAsFunction(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float>
}

/// An elementwise function of three SIMD vectors.
public protocol VectorFunction3 {
    func callAsFunction(_ a: SIMD16<Float>, _ b: SIMD16<Float>, _ c: SIMD16<Float>) -> SIMD16<Float>
}

/// Vectorised single-precision elementary functions on `SIMD16<Float>` (one AVX-512 register), for the
/// elementwise kernels. libm's `expf` costs 9–16 ns per call here; these run at well under 1 ns per
/// element and stay within a few ulp (measured maxima are asserted in `FastMathTests`).
///
/// The math functions are `@_transparent` (inlined before optimisation): with plain `@inline(__always)`
/// the optimiser stopped inlining once a kernel combined several of them (GELU, softplus) and left
/// out-of-line calls that pass each vector in four registers — measured 3–5× slower.
///
/// Every function is branch-free: special ranges are computed alongside and merged with masks, so one
/// lane's overflow never turns another lane into NaN. NaN in gives NaN out; ±∞ and huge inputs give the
/// limits (exp(+big) = +∞, exp(−big) = 0 with gradual underflow, tanh → ±1, erfc → 0 or 2).
public enum FastMath {
    public typealias V = SIMD16<Float>
    public typealias VI = SIMD16<Int32>

    // MARK: Loads and stores

    /// The 16 floats at `p` (no alignment needed).
    @inlinable @inline(__always)
    public static func load(_ p: UnsafePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    /// The first `n` (< 16) floats at `p`, the other lanes set to `pad` (0 is safe for every function here).
    @inlinable @inline(__always)
    public static func load(_ p: UnsafePointer<Float>, count n: Int, pad: Float = 0) -> V {
        var v = V(repeating: pad)
        for i in 0..<n { v[i] = p[i] }
        return v
    }

    @inlinable @inline(__always)
    public static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    @inlinable @inline(__always)
    public static func store(_ v: V, _ p: UnsafeMutablePointer<Float>, count n: Int) {
        for i in 0..<n { p[i] = v[i] }
    }

    // MARK: Horizontal reductions

    /// Σ of the 16 lanes as a tree of halving adds (the standard library's `sum()` goes lane by lane
    /// through the storage subscript, which showed up in attention's row softmax).
    @inlinable @inline(__always)
    public static func horizontalSum(_ v: V) -> Float {
        let a = v.lowHalf + v.highHalf, b = a.lowHalf + a.highHalf, c = b.lowHalf + b.highHalf
        return c.x + c.y
    }

    /// The largest of the 16 lanes (NaN-free input assumed, as in a softmax row), by halving. Written with
    /// `replacing(with:where:)` (one vmaxps): `pointwiseMax` goes lane by lane for its NaN rules.
    @inlinable @inline(__always)
    public static func horizontalMax(_ v: V) -> Float {
        let a = v.lowHalf.replacing(with: v.highHalf, where: v.highHalf .> v.lowHalf)
        let b = a.lowHalf.replacing(with: a.highHalf, where: a.highHalf .> a.lowHalf)
        let c = b.lowHalf.replacing(with: b.highHalf, where: b.highHalf .> b.lowHalf)
        return c.y > c.x ? c.y : c.x
    }

    /// y[i] = f(x[i]) for i in `range`, 16 at a time, the tail through a padded vector. `x` may equal `y`.
    @inlinable @inline(__always)
    public static func map<F: VectorFunction>(_ range: Range<Int>, _ x: UnsafePointer<Float>,
                                              _ y: UnsafeMutablePointer<Float>, _ f: F) {
        var i = range.lowerBound
        let end = range.upperBound
        while i + 16 <= end {
            store(f(load(x + i)), y + i)
            i += 16
        }
        if i < end { store(f(load(x + i, count: end - i)), y + i, count: end - i) }
    }

    /// z[i] = f(x[i], y[i]) for i in `range` (typically a backward pass: x and dy → dx).
    @inlinable @inline(__always)
    public static func map<F: VectorFunction2>(_ range: Range<Int>, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>,
                                               _ z: UnsafeMutablePointer<Float>, _ f: F) {
        var i = range.lowerBound
        let end = range.upperBound
        while i + 16 <= end {
            store(f(load(x + i), load(y + i)), z + i)
            i += 16
        }
        if i < end {
            let n = end - i
            store(f(load(x + i, count: n), load(y + i, count: n)), z + i, count: n)
        }
    }

    /// out[i] = f(a[i], b[i], c[i]) for i in `range`.
    @inlinable @inline(__always)
    public static func map<F: VectorFunction3>(_ range: Range<Int>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                               _ c: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ f: F) {
        var i = range.lowerBound
        let end = range.upperBound
        while i + 16 <= end {
            store(f(load(a + i), load(b + i), load(c + i)), out + i)
            i += 16
        }
        if i < end {
            let n = end - i
            store(f(load(a + i, count: n), load(b + i, count: n), load(c + i, count: n)), out + i, count: n)
        }
    }

    /// a + b, elementwise (scatter-adds, running sums).
    public struct Add: VectorFunction2 {
        @inlinable public init() {}
        @inlinable @inline(__always) public func callAsFunction(_ a: V, _ b: V) -> V { a + b }
    }

    // MARK: Helpers

    /// a·b + c with one rounding.
    @_transparent @usableFromInline
    static func fma(_ a: V, _ b: V, _ c: V) -> V { c.addingProduct(a, b) }

    @_transparent @usableFromInline
    static func bits(_ v: V) -> VI { unsafeBitCast(v, to: VI.self) }

    @_transparent @usableFromInline
    static func float(_ v: VI) -> V { unsafeBitCast(v, to: V.self) }

    /// 2^n for integer n in −126…127, built in the exponent field.
    @_transparent @usableFromInline
    static func pow2(_ n: VI) -> V { float((n &+ 127) &<< 23) }

    /// |x| by clearing the sign bit.
    @_transparent
    public static func abs(_ x: V) -> V { float(bits(x) & 0x7FFF_FFFF) }

    /// min(x, c) that keeps NaN (a compare + blend; `pointwiseMin` compiles to a scalar loop).
    @_transparent @usableFromInline
    static func min(_ x: V, _ c: Float) -> V { x.replacing(with: c, where: x .> c) }

    @_transparent @usableFromInline
    static func max(_ x: V, _ c: Float) -> V { x.replacing(with: c, where: x .< c) }

    // MARK: exp, expm1

    /// Cody–Waite reduction x = n·ln2 + r, |r| ≤ ln2/2, and e^r − 1 (the Cephes expf polynomial, ~1 ulp).
    /// Returns u = e^r − 1 and 2^n as two factors s1·s2 (each within the normal range, so 2^n may be
    /// subnormal or +∞ only after multiplying). x must already be clamped to [−104, 88.8].
    @_transparent @usableFromInline
    static func expReduced(_ x: V) -> (u: V, s1: V, s2: V) {
        let magic = V(repeating: 12_582_912)  // 1.5·2^23: adding it rounds to an integer in the low bits
        let t = fma(x, V(repeating: 1.442_695_04), magic)
        let nf = t - magic
        var r = fma(nf, V(repeating: -0.693_359_375), x)      // ln2 high part: exact product
        r = fma(nf, V(repeating: 2.121_944_4e-4), r)            // ln2 low part
        let n = bits(t) &- 0x4B40_0000
        let n1 = n &>> 1
        let n2 = n &- n1
        var p = V(repeating: 1.987_569_15e-4)
        p = fma(p, r, V(repeating: 1.398_199_950_7e-3))
        p = fma(p, r, V(repeating: 8.333_451_907_3e-3))
        p = fma(p, r, V(repeating: 4.166_579_589_4e-2))
        p = fma(p, r, V(repeating: 1.666_666_545_9e-1))
        p = fma(p, r, V(repeating: 5.000_000_120_1e-1))
        let u = fma(p, r * r, r)
        return (u, pow2(n1), pow2(n2))
    }

    /// eˣ. Max error ~1 ulp; +∞ above 88.72, gradual underflow to 0 below −87.3.
    @_transparent
    public static func exp(_ x: V) -> V {
        let c = max(min(x, 88.8), -104)
        let (u, s1, s2) = expReduced(c)
        return ((1 + u) * s1) * s2
    }

    /// eˣ − 1, accurate near 0 (no cancellation: e^r − 1 is computed directly, then rescaled).
    @_transparent
    public static func expm1(_ x: V) -> V {
        let c = max(min(x, 88.8), -104)
        let (u, s1, s2) = expReduced(c)
        let s = s1 * s2
        let small = fma(u, s, s - 1)               // 2^n·(e^r − 1) + (2^n − 1); 2^n − 1 is exact for |n| ≤ 24
        let big = ((1 + u) * s1) * s2              // above 80 the −1 is below half an ulp
        return small.replacing(with: big, where: c .> 80)
    }

    // MARK: log, log1p

    /// ln(m) + k·ln2 + c for m in [√½, √2) given as f = m − 1 (the Cephes logf polynomial, ~1 ulp).
    @_transparent @usableFromInline
    static func logReduced(f: V, k: V, correction c: V) -> V {
        let z = f * f
        var p = V(repeating: 7.037_683_629_2e-2)
        p = fma(p, f, V(repeating: -1.151_461_031_0e-1))
        p = fma(p, f, V(repeating: 1.167_699_874_0e-1))
        p = fma(p, f, V(repeating: -1.242_014_084_6e-1))
        p = fma(p, f, V(repeating: 1.424_932_278_7e-1))
        p = fma(p, f, V(repeating: -1.666_805_766_5e-1))
        p = fma(p, f, V(repeating: 2.000_071_476_5e-1))
        p = fma(p, f, V(repeating: -2.499_999_399_3e-1))
        p = fma(p, f, V(repeating: 3.333_333_117_4e-1))
        var y = f * z * p
        y = fma(k, V(repeating: -2.121_944_4e-4), y)
        y = fma(z, V(repeating: -0.5), y)
        y = y + c
        return fma(k, V(repeating: 0.693_359_375), f + y)
    }

    /// Splits a positive normal u into m·2^k with m in [√½, √2): returns f = m − 1 (exact) and k.
    @_transparent @usableFromInline
    static func splitMantissa(_ u: V) -> (f: V, k: V) {
        let b = bits(u)
        var k = (b &>> 23) &- 127
        var m = float((b & 0x007F_FFFF) | 0x3F80_0000)        // [1, 2)
        let high = m .> 1.414_213_56
        m = m.replacing(with: m * 0.5, where: high)
        k = k.replacing(with: k &+ 1, where: high)
        return (m - 1, float(k &+ 0x4B40_0000) - 12_582_912)   // Int32 → Float via the 1.5·2^23 trick
    }

    /// ln(u) with the IEEE special values (0 → −∞, negative or NaN → NaN, +∞ → +∞).
    @_transparent @usableFromInline
    static func specialLog(_ y: V, _ u: V) -> V {
        var r = y.replacing(with: .nan, where: .!(u .>= 0))
        r = r.replacing(with: -.infinity, where: u .== 0)
        return r.replacing(with: .infinity, where: u .== .infinity)
    }

    /// ln x. Max error ~1 ulp (subnormal inputs are rescaled first).
    @_transparent
    public static func log(_ x: V) -> V {
        let tiny = x .< Float.leastNormalMagnitude
        let scaled = x.replacing(with: x * 8_388_608, where: tiny)     // ·2^23
        let (f, k0) = splitMantissa(scaled)
        let k = k0.replacing(with: k0 - 23, where: tiny)
        return specialLog(logReduced(f: f, k: k, correction: V(repeating: 0)), x)
    }

    /// ln(1 + x), accurate near 0: the rounding error of 1 + x is added back as c ≈ ((1 + x) − u)/u.
    @_transparent
    public static func log1p(_ x: V) -> V {
        let u = 1 + x
        let (f, k) = splitMantissa(u.replacing(with: 1, where: .!(u .> 0) .| (u .== .infinity)))
        // fdlibm's correction: exact for k = 0, first-order for k ≠ 0.
        let c = (1 - (u - x)).replacing(with: x - (u - 1), where: k .<= 0) / u
        return specialLog(logReduced(f: f, k: k, correction: c), u)
    }

    // MARK: sigmoid, tanh

    /// 1 / (1 + e^−x): exactly 0 or 1 in the far tails, never NaN for finite x.
    @_transparent
    public static func sigmoid(_ x: V) -> V { 1 / (1 + exp(-x)) }

    /// tanh x: an odd polynomial below 0.625 (Cephes tanhf), 1 − 2/(e^{2|x|} + 1) above, sign restored.
    @_transparent
    public static func tanh(_ x: V) -> V {
        let a = abs(x)
        let z = x * x
        var p = V(repeating: -5.704_988_727_45e-3)
        p = fma(p, z, V(repeating: 2.063_908_879_54e-2))
        p = fma(p, z, V(repeating: -5.373_971_555_31e-2))
        p = fma(p, z, V(repeating: 1.333_144_220_36e-1))
        p = fma(p, z, V(repeating: -3.333_328_194_22e-1))
        let small = fma(a * z, p, a)
        let e = exp(min(a, 10) * 2)                 // tanh(10) rounds to 1
        let r = (1 - 2 / (e + 1)).replacing(with: small, where: a .< 0.625)
        return float(bits(r) | (bits(x) & Int32(bitPattern: 0x8000_0000)))   // odd: copy x's sign (also −0)
    }

    // MARK: erf, erfc, the normal CDF

    /// erf(z)/z = Q(z²) on |z| ≤ 0.55: a degree-5 fit of the exact values (max relative error 3.5e-11).
    @_transparent @usableFromInline
    static func erfSmall(_ z: V) -> V {
        let u = z * z
        var p = V(repeating: -7.528_999_83e-4)
        p = fma(p, u, V(repeating: 5.190_139_67e-3))
        p = fma(p, u, V(repeating: -2.686_093_28e-2))
        p = fma(p, u, V(repeating: 1.128_375_49e-1))
        p = fma(p, u, V(repeating: -3.761_263_80e-1))
        p = fma(p, u, V(repeating: 1.128_379_17))
        return z * p
    }

    /// erfc(z) for z = zh + zl ≥ 0.5 (zl an optional low part of the argument, e.g. from x/√2):
    /// erfc(z) = t·exp(−z² + P(t − 0.45)), t = 1/(1 + z/2), with P a degree-9 fit of
    /// ln(erfc(z)/t) + z² on z ∈ [0.5, 10.1] (model error 1.2e-9). −z² + P is carried as a rounded sum plus
    /// its exact error (FMA and TwoSum), so the large exponent loses nothing to rounding.
    @_transparent @usableFromInline
    static func erfcLarge(_ zIn: V, low zl: V) -> V {
        let z = min(zIn, 10.5)                       // erfc(10.05) is below the smallest subnormal
        let t = 1 / fma(z, V(repeating: 0.5), V(repeating: 1))
        let s = t - 0.45
        var p = V(repeating: 0.255_912_863)
        p = fma(p, s, V(repeating: -0.166_648_161))
        p = fma(p, s, V(repeating: -0.247_786_752))
        p = fma(p, s, V(repeating: 0.209_222_872))
        p = fma(p, s, V(repeating: 0.233_209_627))
        p = fma(p, s, V(repeating: -0.222_992_729))
        p = fma(p, s, V(repeating: -0.336_855_557))
        p = fma(p, s, V(repeating: 0.242_937_322))
        p = fma(p, s, V(repeating: 1.323_622_94))
        p = fma(p, s, V(repeating: -0.738_539_15))
        let sq = z * z
        let sqErr = fma(z, z, -sq)                   // z² = sq + sqErr exactly
        let a = p - sq                               // TwoSum(p, −sq) = a + aErr exactly
        let bv = a - p
        let av = a - bv
        let aErr = (p - av) + (-sq - bv)
        let correction = aErr - sqErr - 2 * z * zl   // −(z + zl)² ≈ −z² − 2·z·zl
        return t * exp(a) * (1 + correction)
    }

    /// erfc of z = zh + zl for all reals: 1 − erf near 0, the tail formula beyond, 2 − erfc(−z) below 0.
    @_transparent @usableFromInline
    static func erfc(_ zh: V, low zl: V) -> V {
        let a = abs(zh)
        let negative = zh .< 0
        let al = zl.replacing(with: -zl, where: negative)
        var r = erfcLarge(a.replacing(with: 0.5, where: a .< 0.5), low: al)
        r = r.replacing(with: 1 - erfSmall(a + al), where: a .< 0.5)
        return r.replacing(with: 2 - r, where: negative)
    }

    /// The complementary error function; relative accuracy is kept in the tail (erfc(9) ≈ 4e-37).
    @_transparent
    public static func erfc(_ z: V) -> V { erfc(z, low: V(repeating: 0)) }

    /// The error function; relative accuracy is kept near 0 by the odd polynomial.
    @_transparent
    public static func erf(_ z: V) -> V {
        let a = abs(z)
        var r = 1 - erfcLarge(a.replacing(with: 0.5, where: a .< 0.5), low: V(repeating: 0))
        r = float(bits(r) | (bits(z) & Int32(bitPattern: 0x8000_0000)))
        return r.replacing(with: erfSmall(z), where: a .< 0.5)
    }

    /// Φ(x) = ½·erfc(−x/√2), the standard normal CDF (exact GELU's gate). x/√2 is carried in two parts
    /// so the deep left tail (Φ(−10) ≈ 7.6e-24) keeps its relative accuracy.
    @_transparent
    public static func normalCDF(_ x: V) -> V {
        let c = V(repeating: -0.707_106_77)              // −1/√2 rounded to Float
        let zh = x * c
        var zl = fma(x, c, -zh) + x * -1.210_161_7e-8     // rounding error + the constant's own error
        zl = zl.replacing(with: 0, where: .!(zl .== zl))  // ±∞ inputs: NaN low part
        return 0.5 * erfc(zh, low: zl)
    }

    /// φ(x) = e^{−x²/2}/√(2π), the standard normal density (exact GELU's derivative).
    @_transparent
    public static func normalPDF(_ x: V) -> V {
        let a = min(abs(x), 20)
        let sq = a * a
        let sqErr = fma(a, a, -sq)
        return exp(sq * -0.5) * (1 - 0.5 * sqErr) * 0.398_942_28
    }
}
