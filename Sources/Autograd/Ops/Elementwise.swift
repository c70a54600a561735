import Kernels

// Elementwise arithmetic with NumPy broadcasting (torch semantics). The backward of a broadcast operand
// sums the gradient over the dimensions it was broadcast along.

extension Tensor {
    public static func + (lhs: Tensor, rhs: Tensor) -> Tensor { elementwise(.add, lhs, rhs) }
    public static func - (lhs: Tensor, rhs: Tensor) -> Tensor { elementwise(.subtract, lhs, rhs) }
    public static func * (lhs: Tensor, rhs: Tensor) -> Tensor { elementwise(.multiply, lhs, rhs) }
    public static func / (lhs: Tensor, rhs: Tensor) -> Tensor { elementwise(.divide, lhs, rhs) }

    public static func + (lhs: Tensor, rhs: Float) -> Tensor { withScalar(.add, lhs, rhs, scalarFirst: false) }
    public static func - (lhs: Tensor, rhs: Float) -> Tensor { withScalar(.subtract, lhs, rhs, scalarFirst: false) }
    public static func * (lhs: Tensor, rhs: Float) -> Tensor { withScalar(.multiply, lhs, rhs, scalarFirst: false) }
    public static func / (lhs: Tensor, rhs: Float) -> Tensor { withScalar(.divide, lhs, rhs, scalarFirst: false) }

    public static func + (lhs: Float, rhs: Tensor) -> Tensor { withScalar(.add, rhs, lhs, scalarFirst: true) }
    public static func - (lhs: Float, rhs: Tensor) -> Tensor { withScalar(.subtract, rhs, lhs, scalarFirst: true) }
    public static func * (lhs: Float, rhs: Tensor) -> Tensor { withScalar(.multiply, rhs, lhs, scalarFirst: true) }
    public static func / (lhs: Float, rhs: Tensor) -> Tensor { withScalar(.divide, rhs, lhs, scalarFirst: true) }

    public static prefix func - (x: Tensor) -> Tensor { neg(x) }
}

/// −x.
public func neg(_ x: Tensor) -> Tensor {
    let out = Tensor.uninitialized(x.shape)
    ElementwiseKernels.negate(x.data, out.data, count: x.count)
    let shape = x.shape
    return Tensor.record(out, [x]) { g in
        let dx = Tensor.uninitialized(shape)
        ElementwiseKernels.negate(g.data, dx.data, count: g.count)
        return [dx]
    }
}

/// a ⊕ b on plain buffers, no graph: same shape, or broadcast to `shape`.
private func apply(_ op: BinaryOperator, _ a: Tensor, _ b: Tensor, shape: [Int]) -> Tensor {
    let out = Tensor.uninitialized(shape)
    if a.shape == b.shape {
        ElementwiseKernels.binary(op, a.data, b.data, out.data, count: out.count)
    } else {
        ElementwiseKernels.binary(op, a.data, b.data, out.data, plan: BroadcastPlan(output: shape, a: a.shape, b: b.shape))
    }
    return out
}

/// `g` (the output's shape) summed down to `shape`; `g` itself when nothing was broadcast.
private func reduced(_ g: Tensor, to shape: [Int]) -> Tensor {
    if g.shape == shape { return g }
    if g.count == shape.reduce(1, *) { return Tensor(shape: shape, storage: g.storage) }  // only size-1 dims added
    let out = Tensor.uninitialized(shape)
    ElementwiseKernels.sumToShape(g.data, from: g.shape, out.data, to: shape)
    return out
}

private func elementwise(_ op: BinaryOperator, _ a: Tensor, _ b: Tensor) -> Tensor {
    guard let shape = BroadcastPlan.broadcastShape(a.shape, b.shape) else {
        preconditionFailure("\(op): shapes \(a.shape) and \(b.shape) do not broadcast (NumPy rules: trailing dimensions must match or be 1)")
    }
    let out = apply(op, a, b, shape: shape)
    let aShape = a.shape, bShape = b.shape, aNeeds = a.requiresGrad, bNeeds = b.requiresGrad
    switch op {
    case .add, .subtract:
        // Only the operands' shapes are kept, so the graph does not hold the operands (a residual
        // connection's inputs are freed as soon as no other backward needs them).
        let negateB = op == .subtract
        return Tensor.record(out, [a, b]) { g in
            [aNeeds ? reduced(g, to: aShape) : nil,
             bNeeds ? reduced(negateB ? GradMode.withoutGrad { neg(g) } : g, to: bShape) : nil]
        }
    case .multiply:
        return Tensor.record(out, [a, b]) { g in
            [aNeeds ? reduced(apply(.multiply, g, b, shape: g.shape), to: aShape) : nil,
             bNeeds ? reduced(apply(.multiply, g, a, shape: g.shape), to: bShape) : nil]
        }
    case .divide:
        return Tensor.record(out, [a, b]) { g in
            // d(a/b)/da = 1/b, d(a/b)/db = −a/b².
            let ga = apply(.divide, g, b, shape: g.shape)
            var gb: Tensor?
            if bNeeds {
                let t = apply(.multiply, ga, a, shape: g.shape)
                let u = apply(.divide, t, b, shape: g.shape)
                ElementwiseKernels.negate(u.data, u.data, count: u.count)
                gb = reduced(u, to: bShape)
            }
            return [aNeeds ? reduced(ga, to: aShape) : nil, gb]
        }
    }
}

private func withScalar(_ op: BinaryOperator, _ x: Tensor, _ s: Float, scalarFirst: Bool) -> Tensor {
    let out = Tensor.uninitialized(x.shape)
    ElementwiseKernels.binary(op, x.data, scalar: s, scalarFirst: scalarFirst, out.data, count: x.count)
    let shape = x.shape
    // Only s / x needs x itself in backward.
    let saved = op == .divide && scalarFirst ? x : nil
    return Tensor.record(out, [x]) { g in
        let dx: Tensor
        switch (op, scalarFirst) {
        case (.add, _), (.subtract, false):
            dx = g
        case (.subtract, true):
            dx = Tensor.uninitialized(shape)
            ElementwiseKernels.negate(g.data, dx.data, count: g.count)
        case (.multiply, _):
            dx = Tensor.uninitialized(shape)
            ElementwiseKernels.binary(.multiply, g.data, scalar: s, dx.data, count: g.count)
        case (.divide, false):
            dx = Tensor.uninitialized(shape)
            ElementwiseKernels.binary(.divide, g.data, scalar: s, dx.data, count: g.count)
        case (.divide, true):
            // d(s/x)/dx = −s/x²
            let x = saved!
            dx = Tensor.uninitialized(shape)
            ElementwiseKernels.binary(.divide, g.data, x.data, dx.data, count: g.count)
            ElementwiseKernels.binary(.divide, dx.data, x.data, dx.data, count: g.count)
            ElementwiseKernels.binary(.multiply, dx.data, scalar: -s, dx.data, count: g.count)
        }
        return [dx]
    }
}
