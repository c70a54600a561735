import Kernels

extension Tensor {
    /// A contiguous copy with the dimensions reordered: dimension i of the result is dimension `order[i]`
    /// of this tensor (torch `permute(...).contiguous()`). Negative entries count from the end.
    public func permuted(_ order: [Int]) -> Tensor {
        let o = order.map { $0 < 0 ? $0 + rank : $0 }
        precondition(o.count == rank && Set(o).count == rank && o.allSatisfy { $0 >= 0 && $0 < rank },
                     "permuted(\(order)) is not a permutation of the \(rank) dimensions of \(shape)")
        let out = Tensor.uninitialized(o.map { shape[$0] })
        LayoutKernels.permute(data, shape: shape, order: o, out.data)
        let inShape = shape, outShape = out.shape
        var inverse = [Int](repeating: 0, count: rank)
        for (i, d) in o.enumerated() { inverse[d] = i }
        return Tensor.record(out, [self]) { g in
            let dx = Tensor.uninitialized(inShape)
            LayoutKernels.permute(g.data, shape: outShape, order: inverse, dx.data)
            return [dx]
        }
    }
}

/// Resolves a possibly negative axis and returns (outer, inner) sizes around it.
private func axisGeometry(_ shape: [Int], _ axis: Int, _ what: String) -> (axis: Int, outer: Int, inner: Int) {
    let a = axis < 0 ? axis + shape.count : axis
    precondition(a >= 0 && a < shape.count, "\(what): axis \(axis) out of range for shape \(shape)")
    return (a, shape[..<a].reduce(1, *), shape[(a + 1)...].reduce(1, *))
}

/// Joins tensors along `axis` (torch `cat`); every other dimension must agree.
public func concat(_ tensors: [Tensor], axis: Int) -> Tensor {
    precondition(!tensors.isEmpty, "concat needs at least one tensor")
    let first = tensors[0].shape
    let (a, outer, inner) = axisGeometry(first, axis, "concat")
    for t in tensors {
        precondition(t.rank == first.count && (0..<first.count).allSatisfy { $0 == a || t.shape[$0] == first[$0] },
                     "concat along axis \(axis): shapes \(tensors.map(\.shape)) differ outside that axis")
    }
    let lengths = tensors.map { $0.shape[a] }
    var shape = first
    shape[a] = lengths.reduce(0, +)
    let blocks = lengths.map { $0 * inner }
    func apply(_ parts: [Tensor]) -> Tensor {  // `parts` (a parameter) outlives the kernel
        let y = Tensor.uninitialized(shape)
        LayoutKernels.concat(parts.map { UnsafePointer($0.data) }, blocks: blocks, outer: outer, y.data)
        return y
    }
    // A U-Net's skip concatenation: its parts are mostly kept by other ops already.
    let saved = tensors.map(SavedInput.init)
    let total = blocks.reduce(0, +)
    let shapes = tensors.map(\.shape), needs = tensors.map(\.requiresGrad)
    return Tensor.record(apply(tensors), tensors, recompute: { apply(saved.map { $0.value() }) }) { g in
        var offset = 0
        return shapes.indices.map { i in
            defer { offset += blocks[i] }
            guard needs[i] else { return nil }
            let d = Tensor.uninitialized(shapes[i])
            LayoutKernels.slice(g.data, outer: outer, total: total, offset: offset, block: blocks[i], d.data)
            return d
        }
    }
}

/// Cuts `x` along `axis` into consecutive parts of the given sizes (which must add up to that dimension).
public func split(_ x: Tensor, sizes: [Int], axis: Int) -> [Tensor] {
    let (a, outer, inner) = axisGeometry(x.shape, axis, "split")
    precondition(sizes.allSatisfy { $0 >= 0 } && sizes.reduce(0, +) == x.shape[a],
                 "split: sizes \(sizes) must add up to dimension \(axis) of \(x.shape)")
    let total = x.shape[a] * inner
    var offset = 0
    return sizes.map { size in
        var shape = x.shape
        shape[a] = size
        let part = Tensor.uninitialized(shape)
        let off = offset, block = size * inner
        offset += block
        LayoutKernels.slice(x.data, outer: outer, total: total, offset: off, block: block, part.data)
        return Tensor.record(part, [x]) { [inShape = x.shape] g in
            let dx = Tensor.uninitialized(inShape)
            LayoutKernels.unslice(g.data, outer: outer, total: total, offset: off, block: block, dx.data)
            return [dx]
        }
    }
}

/// Splits `x` along `axis` into `chunks` equal parts (the dimension must be divisible by `chunks`).
public func chunk(_ x: Tensor, _ chunks: Int, axis: Int) -> [Tensor] {
    let (a, _, _) = axisGeometry(x.shape, axis, "chunk")
    precondition(chunks > 0 && x.shape[a] % chunks == 0,
                 "chunk: dimension \(axis) of \(x.shape) is not divisible into \(chunks) equal parts")
    return split(x, sizes: [Int](repeating: x.shape[a] / chunks, count: chunks), axis: axis)
}
