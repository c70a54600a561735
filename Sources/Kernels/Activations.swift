/// Pointwise activations: forward and backward side by side, vectorised with `FastMath`.
/// Backward kernels take whatever the forward pass can hand over most cheaply: the input x, or the
/// output y where the derivative is a function of it (exp, expm1, sigmoid).
/// Each function is a small `VectorFunction` struct so that `FastMath.map` inlines it into the loop.
public enum ActivationKernels {
    public typealias V = SIMD16<Float>

    /// y = f(x) elementwise, split across cores for large tensors.
    @inline(__always)
    static func unary<F: VectorFunction>(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, _ f: F) {
        Threading.parallelRanges(count) { r in FastMath.map(r, x, y, f) }
    }

    /// z = f(a, b) elementwise (a backward pass: a is x or y, b is dy).
    @inline(__always)
    static func binary<F: VectorFunction2>(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                           _ z: UnsafeMutablePointer<Float>, count: Int, _ f: F) {
        Threading.parallelRanges(count) { r in FastMath.map(r, a, b, z, f) }
    }

    // MARK: SiLU

    /// y = x·σ(x)
    struct SiLU: VectorFunction {
        @inline(__always) func callAsFunction(_ x: V) -> V { x * FastMath.sigmoid(x) }
    }

    /// dx = dy·σ(x)·(1 + x·(1 − σ(x)))
    struct SiLUBackward: VectorFunction2 {
        @inline(__always) func callAsFunction(_ x: V, _ g: V) -> V {
            let s = FastMath.sigmoid(x)
            return g * s * (1 + x * (1 - s))
        }
    }

    public static func siluForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        unary(x, y, count: count, SiLU())
    }

    public static func siluBackward(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                    _ dx: UnsafeMutablePointer<Float>, count: Int) {
        binary(x, dy, dx, count: count, SiLUBackward())
    }

    // MARK: Quick GELU (CLIP's text encoder)

    /// y = x·σ(1.702x)
    struct QuickGELU: VectorFunction {
        @inline(__always) func callAsFunction(_ x: V) -> V { x * FastMath.sigmoid(1.702 * x) }
    }

    /// dx = dy·(σ(1.702x) + 1.702x·σ(1.702x)(1 − σ(1.702x)))
    struct QuickGELUBackward: VectorFunction2 {
        @inline(__always) func callAsFunction(_ x: V, _ g: V) -> V {
            let s = FastMath.sigmoid(1.702 * x)
            return g * s * (1 + 1.702 * x * (1 - s))
        }
    }

    public static func quickGELUForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        unary(x, y, count: count, QuickGELU())
    }

    public static func quickGELUBackward(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                         _ dx: UnsafeMutablePointer<Float>, count: Int) {
        binary(x, dy, dx, count: count, QuickGELUBackward())
    }

    // MARK: GELU

    /// Exact GELU x·Φ(x), or with `tanh` the approximation ½x(1 + tanh(√(2/π)(x + 0.044715x³))),
    /// evaluated as x·σ(2u) (the same value; it does not cancel for negative x).
    @inline(__always)
    static func gelu(_ v: V, tanh: Bool) -> V {
        if tanh {
            let u = 0.797_884_56 * (v + 0.044_715 * v * v * v)          // √(2/π)·(x + 0.044715x³)
            return v * FastMath.sigmoid(2 * u)
        }
        return v * FastMath.normalCDF(v)
    }

    /// d gelu / dx: Φ(x) + x·φ(x), or for `tanh` σ(2u) + x·σ(2u)(1 − σ(2u))·2u′. x is clamped to ±30,
    /// where the derivative is already exactly 0 or 1 in Float, so huge inputs give no ∞·0.
    @inline(__always)
    static func geluDerivative(_ v: V, tanh: Bool) -> V {
        let c = v.replacing(with: 30, where: v .> 30).replacing(with: -30, where: v .< -30)
        if tanh {
            let u = 0.797_884_56 * (c + 0.044_715 * c * c * c)
            let s = FastMath.sigmoid(2 * u)
            let du = 0.797_884_56 * (1 + 3 * 0.044_715 * c * c)
            return s + c * s * (1 - s) * 2 * du
        }
        return FastMath.normalCDF(c) + c * FastMath.normalPDF(c)
    }

    struct GELU: VectorFunction {
        let tanh: Bool
        @inline(__always) func callAsFunction(_ x: V) -> V { gelu(x, tanh: tanh) }
    }

    /// dx = dy·gelu′(x)
    struct GELUBackward: VectorFunction2 {
        let tanh: Bool
        @inline(__always) func callAsFunction(_ x: V, _ g: V) -> V { g * geluDerivative(x, tanh: tanh) }
    }

    public static func geluForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
                                   tanhApproximation: Bool) {
        unary(x, y, count: count, GELU(tanh: tanhApproximation))
    }

    public static func geluBackward(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                    _ dx: UnsafeMutablePointer<Float>, count: Int, tanhApproximation: Bool) {
        binary(x, dy, dx, count: count, GELUBackward(tanh: tanhApproximation))
    }

    // MARK: GEGLU

    /// hidden·gelu(gate), or, used in backward, dy·gelu(gate).
    struct TimesGELU: VectorFunction2 {
        let tanh: Bool
        @inline(__always) func callAsFunction(_ a: V, _ gate: V) -> V { a * gelu(gate, tanh: tanh) }
    }

    /// dgate = dy·hidden·gelu′(gate)
    struct GEGLUGateBackward: VectorFunction3 {
        let tanh: Bool
        @inline(__always) func callAsFunction(_ hidden: V, _ gate: V, _ g: V) -> V {
            g * hidden * geluDerivative(gate, tanh: tanh)
        }
    }

    /// diffusers' GEGLU after its projection: each row of x holds [hidden (half) | gate (half)];
    /// y = hidden · gelu(gate), rows × half.
    public static func gegluForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                    rows: Int, half: Int, tanhApproximation: Bool) {
        let f = TimesGELU(tanh: tanhApproximation)
        Threading.parallelRanges(rows, minChunk: max(1, (1 << 15) / max(1, half))) { r in
            for row in r {
                let h = x + row * 2 * half
                FastMath.map(0..<half, h, h + half, y + row * half, f)
            }
        }
    }

    /// dhidden = dy·gelu(gate), dgate = dy·hidden·gelu′(gate), written into the two halves of dx.
    public static func gegluBackward(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                     _ dx: UnsafeMutablePointer<Float>, rows: Int, half: Int,
                                     tanhApproximation: Bool) {
        let hiddenGrad = TimesGELU(tanh: tanhApproximation), gateGrad = GEGLUGateBackward(tanh: tanhApproximation)
        Threading.parallelRanges(rows, minChunk: max(1, (1 << 15) / max(1, half))) { r in
            for row in r {
                let h = x + row * 2 * half, gate = h + half, g = dy + row * half
                let dh = dx + row * 2 * half
                if tanhApproximation {
                    FastMath.map(0..<half, g, gate, dh, hiddenGrad)
                    FastMath.map(0..<half, h, gate, g, dh + half, gateGrad)
                } else {
                    exactGEGLUBackwardRow(hidden: h, gate: gate, dy: g, dHidden: dh, dGate: dh + half, count: half)
                }
            }
        }
    }

    /// Exact GELU's GEGLU backward in one pass, Φ(gate) computed once for both halves (the two-map version
    /// evaluated it twice; the GEGLU backward was 3.6% of a tiny SFT step). Same values as `gelu` and
    /// `geluDerivative`: Φ of the gate clamped to ±30 equals Φ of the gate in Float.
    static func exactGEGLUBackwardRow(hidden: UnsafePointer<Float>, gate: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                                      dHidden: UnsafeMutablePointer<Float>, dGate: UnsafeMutablePointer<Float>, count: Int) {
        @inline(__always) func step(_ i: Int, _ n: Int) {
            let v = FastMath.load(gate + i, count: n), g = FastMath.load(dy + i, count: n)
            let c = v.replacing(with: 30, where: v .> 30).replacing(with: -30, where: v .< -30)
            let cdf = FastMath.normalCDF(c)
            FastMath.store(g * (v * cdf), dHidden + i, count: n)
            FastMath.store(g * FastMath.load(hidden + i, count: n) * (cdf + c * FastMath.normalPDF(c)), dGate + i, count: n)
        }
        var i = 0
        while i + 16 <= count {
            step(i, 16)
            i += 16
        }
        if i < count { step(i, count - i) }
    }

    // MARK: sigmoid, logSigmoid, softplus

    struct Sigmoid: VectorFunction {
        @inline(__always) func callAsFunction(_ x: V) -> V { FastMath.sigmoid(x) }
    }

    /// dx = dy·y·(1 − y), from the saved output y.
    struct SigmoidBackward: VectorFunction2 {
        @inline(__always) func callAsFunction(_ y: V, _ g: V) -> V { g * y * (1 - y) }
    }

    /// log σ(x) = min(x, 0) − log1p(e^−|x|): no overflow for either sign.
    struct LogSigmoid: VectorFunction {
        @inline(__always) func callAsFunction(_ x: V) -> V {
            x.replacing(with: 0, where: x .> 0) - FastMath.log1p(FastMath.exp(-FastMath.abs(x)))
        }
    }

    /// dx = dy·σ(−x)
    struct LogSigmoidBackward: VectorFunction2 {
        @inline(__always) func callAsFunction(_ x: V, _ g: V) -> V { g * FastMath.sigmoid(-x) }
    }

    /// softplus(x) = log(1 + eˣ) = max(x, 0) + log1p(e^−|x|) (torch's beta = 1; its threshold-20 shortcut
    /// gives the same Float).
    struct Softplus: VectorFunction {
        @inline(__always) func callAsFunction(_ x: V) -> V {
            x.replacing(with: 0, where: x .< 0) + FastMath.log1p(FastMath.exp(-FastMath.abs(x)))
        }
    }

    /// dx = dy·σ(x)
    struct SoftplusBackward: VectorFunction2 {
        @inline(__always) func callAsFunction(_ x: V, _ g: V) -> V { g * FastMath.sigmoid(x) }
    }

    public static func sigmoidForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        unary(x, y, count: count, Sigmoid())
    }

    public static func sigmoidBackward(_ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                       _ dx: UnsafeMutablePointer<Float>, count: Int) {
        binary(y, dy, dx, count: count, SigmoidBackward())
    }

    public static func logSigmoidForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        unary(x, y, count: count, LogSigmoid())
    }

    public static func logSigmoidBackward(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                          _ dx: UnsafeMutablePointer<Float>, count: Int) {
        binary(x, dy, dx, count: count, LogSigmoidBackward())
    }

    public static func softplusForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        unary(x, y, count: count, Softplus())
    }

    public static func softplusBackward(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                        _ dx: UnsafeMutablePointer<Float>, count: Int) {
        binary(x, dy, dx, count: count, SoftplusBackward())
    }

    // MARK: exp, expm1, square

    struct Exp: VectorFunction {
        @inline(__always) func callAsFunction(_ x: V) -> V { FastMath.exp(x) }
    }

    struct Expm1: VectorFunction {
        @inline(__always) func callAsFunction(_ x: V) -> V { FastMath.expm1(x) }
    }

    /// dx = dy·y (the derivative of exp, from its output)
    struct Multiply: VectorFunction2 {
        @inline(__always) func callAsFunction(_ a: V, _ b: V) -> V { a * b }
    }

    /// dx = dy·(y + 1) (the derivative of expm1, from its output)
    struct Expm1Backward: VectorFunction2 {
        @inline(__always) func callAsFunction(_ y: V, _ g: V) -> V { g * (y + 1) }
    }

    struct Square: VectorFunction {
        @inline(__always) func callAsFunction(_ x: V) -> V { x * x }
    }

    /// dx = 2·x·dy
    struct SquareBackward: VectorFunction2 {
        @inline(__always) func callAsFunction(_ x: V, _ g: V) -> V { 2 * x * g }
    }

    public static func expForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        unary(x, y, count: count, Exp())
    }

    public static func expBackward(_ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                   _ dx: UnsafeMutablePointer<Float>, count: Int) {
        binary(y, dy, dx, count: count, Multiply())
    }

    public static func expm1Forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        unary(x, y, count: count, Expm1())
    }

    public static func expm1Backward(_ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                     _ dx: UnsafeMutablePointer<Float>, count: Int) {
        binary(y, dy, dx, count: count, Expm1Backward())
    }

    public static func squareForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        unary(x, y, count: count, Square())
    }

    public static func squareBackward(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                      _ dx: UnsafeMutablePointer<Float>, count: Int) {
        binary(x, dy, dx, count: count, SquareBackward())
    }
}
