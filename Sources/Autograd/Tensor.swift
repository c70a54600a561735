import Foundation
import Kernels

/// A contiguous Float32 tensor (images are NCHW) that can take part in reverse-mode autograd.
///
/// A tensor made by an op while any input requires a gradient carries a `GradNode`: edges to the op's
/// inputs and its backward function. As in PyTorch, the graph holds only what backward functions capture:
/// an edge names an input's place in the graph, not its values, so an activation no backward needs (the
/// input of an add, a concatenation, an upsampling) is freed during the forward pass. `backward()` walks
/// the nodes once, in reverse topological order, and frees each as it goes.
public final class Tensor {
    public let shape: [Int]
    public let storage: Storage
    /// Leaves with `requiresGrad` (parameters) accumulate into `grad` during `backward()`.
    public var requiresGrad: Bool
    public var grad: Tensor?
    /// This tensor's place in a graph: made when it first takes part in one (as an op's output, or as a
    /// leaf input that requires a gradient).
    var edge: GradEdge?
    /// Set on outputs of cheap ops (norms, pointwise activations, GEGLU, upsampling, concatenation) made
    /// while recording: computes this tensor again from what that op saves for its own backward anyway
    /// (`SavedInput`, `record(_:_:recompute:backward:)`).
    public internal(set) var recompute: (() -> Tensor)?
    /// Set on gradient sums made during `backward()`, which may then be updated in place.
    var isUniquelyOwnedGradient = false

    public init(shape: [Int], storage: Storage, requiresGrad: Bool = false) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        precondition(shape.reduce(1, *) == storage.count, "shape \(shape) does not match storage of \(storage.count) floats")
        self.shape = shape
        self.storage = storage
        self.requiresGrad = requiresGrad
    }

    /// A new tensor of `shape`, zero-filled.
    public convenience init(zeros shape: [Int], requiresGrad: Bool = false) {
        self.init(shape: shape, storage: Storage(count: shape.reduce(1, *)), requiresGrad: requiresGrad)
    }

    /// A new tensor whose contents the caller overwrites entirely (no zero-fill).
    public static func uninitialized(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, storage: Storage(count: shape.reduce(1, *), zeroed: false))
    }

    public convenience init(shape: [Int], data: [Float], requiresGrad: Bool = false) {
        precondition(shape.reduce(1, *) == data.count, "shape \(shape) needs \(shape.reduce(1, *)) values, got \(data.count)")
        let s = Storage(count: data.count, zeroed: false)
        data.withUnsafeBufferPointer { s.pointer.update(from: $0.baseAddress!, count: data.count) }
        self.init(shape: shape, storage: s, requiresGrad: requiresGrad)
    }

    public convenience init(scalar: Float) { self.init(shape: [], data: [scalar]) }

    public static func full(_ shape: [Int], _ value: Float) -> Tensor {
        let t = uninitialized(shape)
        t.data.initialize(repeating: value, count: t.count)
        return t
    }

    public static func randn(_ shape: [Int], rng: inout RNG, std: Float = 1) -> Tensor {
        let t = uninitialized(shape)
        rng.fillNormal(t.data, count: t.count, std: std)
        return t
    }

    public static func rand(_ shape: [Int], rng: inout RNG, low: Float = 0, high: Float = 1) -> Tensor {
        let t = uninitialized(shape)
        rng.fillUniform(t.data, count: t.count, low: low, high: high)
        return t
    }

    public var count: Int { storage.count }
    public var rank: Int { shape.count }
    public var data: UnsafeMutablePointer<Float> { storage.pointer }
    public var isLeaf: Bool { edge?.node == nil }

    public func toArray() -> [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// The single value of a one-element tensor.
    public func item() -> Float {
        precondition(count == 1, "item() needs a one-element tensor, shape is \(shape)")
        return data[0]
    }

    /// The same values, cut from the graph (shares storage).
    public func detached() -> Tensor { Tensor(shape: shape, storage: storage) }

    /// A deep copy, cut from the graph.
    public func copy() -> Tensor {
        let t = Tensor.uninitialized(shape)
        t.data.update(from: data, count: count)
        return t
    }

    /// Overwrites the contents with `other`'s (same element count), outside the graph.
    public func assign(_ other: Tensor) {
        precondition(other.count == count, "assign: \(other.shape) into \(shape)")
        data.update(from: other.data, count: count)
    }

    public func zeroGrad() { grad = nil }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = toArray().prefix(8).map { String(format: "%.5g", Double($0)) }.joined(separator: ", ")
        return "Tensor(\(shape), [\(head)\(count > 8 ? ", …" : "")])"
    }
}

/// How to push a gradient through one op: edges to its inputs (nil where an input needs no gradient) and
/// a function from d(out) to d(inputs).
final class GradNode {
    let inputs: [GradEdge?]
    let backward: (Tensor) -> [Tensor?]
    init(inputs: [GradEdge?], backward: @escaping (Tensor) -> [Tensor?]) {
        self.inputs = inputs
        self.backward = backward
    }
}

/// A tensor's place in the graph without its values: the op that made it, or for a leaf the tensor whose
/// `.grad` accumulates (held weakly — a leaf nobody holds any more has no gradient to report).
final class GradEdge {
    let count: Int
    var node: GradNode?
    weak var leaf: Tensor?
    init(count: Int, node: GradNode?, leaf: Tensor?) {
        self.count = count
        self.node = node
        self.leaf = leaf
    }
}

extension Tensor {
    /// The edge later ops point to: the op's output edge, or a leaf edge made on first use (also for an
    /// op's output whose graph a backward pass has consumed: it is a leaf of the next graph, as in PyTorch).
    func graphEdge() -> GradEdge {
        if let edge, edge.node != nil || edge.leaf != nil { return edge }
        let leafEdge = GradEdge(count: count, node: nil, leaf: self)
        edge = leafEdge
        return leafEdge
    }

    /// Attaches `backward` to `out` when gradients are recorded and some input needs one.
    /// `backward` receives d(loss)/d(out) and returns d(loss)/d(input) per input (nil where none is needed).
    /// Ops call this last: `return Tensor.record(out, [x, w]) { g in [...] }`. A cheap op whose backward
    /// saves what `out` is computed from passes `recompute`, a recipe for `out` (`Tensor.recompute`), so
    /// that a following layer keeps the recipe instead of `out`.
    public static func record(_ out: Tensor, _ inputs: [Tensor], recompute: (() -> Tensor)? = nil,
                              backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        guard GradMode.isEnabled, inputs.contains(where: { $0.requiresGrad }) else { return out }
        out.requiresGrad = true
        out.recompute = recompute
        let edges = inputs.map { $0.requiresGrad ? $0.graphEdge() : nil }
        out.edge = GradEdge(count: out.count, node: GradNode(inputs: edges, backward: backward), leaf: nil)
        return out
    }
}
