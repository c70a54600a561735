import Autograd
import Foundation
import Kernels

/// AdamW exactly as `torch.optim.AdamW` (amsgrad off, not maximizing), per parameter with a gradient:
///
///     step += 1
///     p ← p · (1 − lr·wd)                       decoupled weight decay
///     m ← m + (1 − β1)·(g − m)                   torch's lerp (fused multiply-add on CPU)
///     v ← β2·v + (1 − β2)·g·g
///     p ← p − (lr / (1 − β1^step)) · m / (√v / √(1 − β2^step) + ε)      ε outside the square root
///
/// Scalars are computed in Double and rounded to Float as PyTorch does with Python floats, so a run
/// matches torch to float rounding. Parameters without a gradient are skipped (their step does not
/// advance), as in torch. State (per-parameter step, m, v) is kept by parameter name, so a checkpoint
/// restores into a fresh optimizer for an exact resume.
public final class AdamW {
    /// The hyperparameters of torch's single parameter group. `lr` is what LR schedules set each step.
    public struct Hyperparameters: Codable, Equatable, Sendable {
        public var lr: Double
        public var beta1: Double
        public var beta2: Double
        public var eps: Double
        public var weightDecay: Double

        /// torch's defaults.
        public init(lr: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8,
                    weightDecay: Double = 1e-2) {
            self.lr = lr
            self.beta1 = beta1
            self.beta2 = beta2
            self.eps = eps
            self.weightDecay = weightDecay
        }
    }

    /// Per-parameter state, created at a parameter's first update (as torch does).
    final class Moments {
        var step: Int
        let expAvg: Tensor
        let expAvgSq: Tensor
        init(step: Int, expAvg: Tensor, expAvgSq: Tensor) {
            self.step = step
            self.expAvg = expAvg
            self.expAvgSq = expAvgSq
        }
    }

    public var hyperparameters: Hyperparameters
    public let parameters: [(name: String, tensor: Tensor)]
    private var moments: [Moments?]
    private let index: [String: Int]

    public var lr: Double {
        get { hyperparameters.lr }
        set { hyperparameters.lr = newValue }
    }

    /// `parameters` by unique name (e.g. a module's `namedParameters()`). A tensor listed twice (tied
    /// weights) is updated once, under its first name, as torch's `named_parameters()` does.
    public init(namedParameters: [(String, Tensor)], hyperparameters: Hyperparameters = Hyperparameters()) {
        var seen = Set<ObjectIdentifier>()
        let parameters = namedParameters.filter { seen.insert(ObjectIdentifier($0.1)).inserted }
        self.parameters = parameters.map { (name: $0.0, tensor: $0.1) }
        self.hyperparameters = hyperparameters
        moments = Array(repeating: nil, count: parameters.count)
        var index: [String: Int] = [:]
        for (i, (name, _)) in parameters.enumerated() {
            precondition(index[name] == nil, "AdamW: duplicate parameter name \(name)")
            index[name] = i
        }
        self.index = index
    }

    /// Parameters named by their position ("0", "1", …), for plain tensor lists.
    public convenience init(parameters: [Tensor], hyperparameters: Hyperparameters = Hyperparameters()) {
        self.init(namedParameters: parameters.enumerated().map { (String($0.offset), $0.element) },
                  hyperparameters: hyperparameters)
    }

    /// Updates every parameter that has a gradient.
    public func step() {
        let h = hyperparameters
        for (i, p) in parameters.enumerated() {
            guard let g = p.tensor.grad else { continue }
            precondition(g.count == p.tensor.count, "AdamW: gradient of \(p.name) has shape \(g.shape), parameter \(p.tensor.shape)")
            let state: Moments
            if let s = moments[i] {
                state = s
            } else {
                state = Moments(step: 0, expAvg: Tensor(zeros: p.tensor.shape), expAvgSq: Tensor(zeros: p.tensor.shape))
                moments[i] = state
            }
            state.step += 1
            let step = Double(state.step)
            let biasCorrection1 = 1 - pow(h.beta1, step)
            let biasCorrection2 = 1 - pow(h.beta2, step)
            let c = AdamWCoefficients(
                decay: Float(1 - h.lr * h.weightDecay),
                applyDecay: h.weightDecay != 0,
                lerpWeight: Float(1 - h.beta1),
                beta2: Float(h.beta2),
                oneMinusBeta2: Float(1 - h.beta2),
                negStepSize: Float(-(h.lr / biasCorrection1)),
                biasCorrection2Sqrt: Float(pow(biasCorrection2, 0.5)),
                eps: Float(h.eps))
            AdamW.update(param: p.tensor.data, grad: g.data, expAvg: state.expAvg.data, expAvgSq: state.expAvgSq.data,
                         count: p.tensor.count, c)
        }
    }

    /// Clears every parameter's gradient.
    public func zeroGrad() {
        for p in parameters { p.tensor.grad = nil }
    }

    /// How many updates parameter `name` has received (0 before its first).
    public func stepCount(of name: String) -> Int {
        index[name].flatMap { moments[$0]?.step } ?? 0
    }

    // MARK: Kernel

    struct AdamWCoefficients {
        let decay: Float, applyDecay: Bool, lerpWeight: Float, beta2: Float, oneMinusBeta2: Float
        let negStepSize: Float, biasCorrection2Sqrt: Float, eps: Float
    }

    /// One fused pass over a parameter (memory-bound: each array is read once and written once).
    static func update(param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>, expAvg: UnsafeMutablePointer<Float>,
                       expAvgSq: UnsafeMutablePointer<Float>, count: Int, _ c: AdamWCoefficients) {
        let pp = UncheckedSendable(param), gp = UncheckedSendable(grad)
        let mp = UncheckedSendable(expAvg), vp = UncheckedSendable(expAvgSq)
        Threading.parallelRanges(count) { r in
            let p = pp.value, g = gp.value, m = mp.value, v = vp.value
            var i = r.lowerBound
            typealias V = SIMD16<Float>
            let decay = V(repeating: c.decay), w = V(repeating: c.lerpWeight), b2 = V(repeating: c.beta2)
            let ob2 = V(repeating: c.oneMinusBeta2), ns = V(repeating: c.negStepSize)
            let bc2 = V(repeating: c.biasCorrection2Sqrt), eps = V(repeating: c.eps)
            while i + 16 <= r.upperBound {
                var pv = UnsafeRawPointer(p + i).loadUnaligned(as: V.self)
                let gv = UnsafeRawPointer(g + i).loadUnaligned(as: V.self)
                var mv = UnsafeRawPointer(m + i).loadUnaligned(as: V.self)
                var vv = UnsafeRawPointer(v + i).loadUnaligned(as: V.self)
                if c.applyDecay { pv = pv * decay }
                mv = mv.addingProduct(w, gv - mv)
                vv = vv * b2
                vv = vv + ob2 * gv * gv
                let denom = vv.squareRoot() / bc2 + eps
                pv = pv + ns * mv / denom
                UnsafeMutableRawPointer(p + i).storeBytes(of: pv, as: V.self)
                UnsafeMutableRawPointer(m + i).storeBytes(of: mv, as: V.self)
                UnsafeMutableRawPointer(v + i).storeBytes(of: vv, as: V.self)
                i += 16
            }
            while i < r.upperBound {
                var pv = p[i]
                let gv = g[i]
                if c.applyDecay { pv = pv * c.decay }
                let mv = m[i].addingProduct(c.lerpWeight, gv - m[i])
                var vv = v[i] * c.beta2
                vv = vv + c.oneMinusBeta2 * gv * gv
                let denom = vv.squareRoot() / c.biasCorrection2Sqrt + c.eps
                p[i] = pv + c.negStepSize * mv / denom
                m[i] = mv
                v[i] = vv
                i += 1
            }
        }
    }

    // MARK: State

    /// A copy of the optimizer state, detached from later updates.
    public struct State {
        public var hyperparameters: Hyperparameters
        /// Per parameter that has been updated: its step count and moments.
        public var steps: [String: Int]
        public var expAvg: [String: Tensor]
        public var expAvgSq: [String: Tensor]

        public init(hyperparameters: Hyperparameters, steps: [String: Int], expAvg: [String: Tensor],
                    expAvgSq: [String: Tensor]) {
            self.hyperparameters = hyperparameters
            self.steps = steps
            self.expAvg = expAvg
            self.expAvgSq = expAvgSq
        }
    }

    public func state() -> State {
        var steps: [String: Int] = [:], m: [String: Tensor] = [:], v: [String: Tensor] = [:]
        for (i, p) in parameters.enumerated() {
            guard let s = moments[i] else { continue }
            steps[p.name] = s.step
            m[p.name] = s.expAvg.copy()
            v[p.name] = s.expAvgSq.copy()
        }
        return State(hyperparameters: hyperparameters, steps: steps, expAvg: m, expAvgSq: v)
    }

    /// Restores a saved state (hyperparameters included, as torch's `load_state_dict`). Every entry must
    /// name one of this optimizer's parameters with its shape; `source` names the file in errors.
    /// Parameters absent from the state start fresh (they had not been updated when it was saved).
    public func load(state: State, source: String = "optimizer state") throws {
        var restored = [Moments?](repeating: nil, count: parameters.count)
        for name in Set(state.steps.keys).union(state.expAvg.keys).union(state.expAvgSq.keys).sorted() {
            guard let i = index[name] else {
                throw CheckpointError.unexpectedTensor(file: source, key: name + ".exp_avg",
                    hint: "the optimizer has no parameter \(name); was the checkpoint made for another model configuration?")
            }
            let shape = parameters[i].tensor.shape
            guard let step = state.steps[name], step > 0 else {
                throw CheckpointError.invalidValue(file: source, key: name + ".step", reason: "missing or not a positive step count")
            }
            guard let m = state.expAvg[name] else { throw CheckpointError.missingTensor(file: source, key: name + ".exp_avg") }
            guard let v = state.expAvgSq[name] else { throw CheckpointError.missingTensor(file: source, key: name + ".exp_avg_sq") }
            for (key, t) in [(name + ".exp_avg", m), (name + ".exp_avg_sq", v)] where t.shape != shape {
                throw CheckpointError.shapeMismatch(file: source, key: key, expected: shape, found: t.shape)
            }
            restored[i] = Moments(step: step, expAvg: m.copy(), expAvgSq: v.copy())
        }
        moments = restored
        hyperparameters = state.hyperparameters
    }
}

extension AdamW.State {
    /// The tensors of `optimizer.safetensors`: `<param>.exp_avg` and `<param>.exp_avg_sq`, torch's names.
    public var safetensors: [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (name, t) in expAvg { out[name + ".exp_avg"] = t }
        for (name, t) in expAvgSq { out[name + ".exp_avg_sq"] = t }
        return out
    }

    /// Metadata of `optimizer.safetensors`: the hyperparameters and `<param>.step` per parameter.
    public var safetensorsMetadata: [String: String] {
        var out: [String: String] = [
            "optimizer": "AdamW",
            "lr": "\(hyperparameters.lr)", "beta1": "\(hyperparameters.beta1)", "beta2": "\(hyperparameters.beta2)",
            "eps": "\(hyperparameters.eps)", "weight_decay": "\(hyperparameters.weightDecay)",
        ]
        for (name, step) in steps { out[name + ".step"] = String(step) }
        return out
    }

    /// Parses what `safetensors`/`safetensorsMetadata` wrote; `file` names the file in errors.
    public init(safetensors tensors: [String: Tensor], metadata: [String: String], file: String) throws {
        guard metadata["optimizer"] == "AdamW" else {
            throw CheckpointError.invalidValue(file: file, key: "__metadata__.optimizer",
                                               reason: "expected \"AdamW\", found \(metadata["optimizer"].map { "\"\($0)\"" } ?? "nothing")")
        }
        func number(_ key: String) throws -> Double {
            guard let s = metadata[key], let x = Double(s), x.isFinite else {
                throw CheckpointError.invalidValue(file: file, key: "__metadata__." + key, reason: "missing or not a finite number")
            }
            return x
        }
        let h = AdamW.Hyperparameters(lr: try number("lr"), beta1: try number("beta1"), beta2: try number("beta2"),
                                      eps: try number("eps"), weightDecay: try number("weight_decay"))
        var steps: [String: Int] = [:]
        for (key, value) in metadata where key.hasSuffix(".step") {
            guard let n = Int(value), n > 0 else {
                throw CheckpointError.invalidValue(file: file, key: "__metadata__." + key, reason: "\"\(value)\" is not a positive step count")
            }
            steps[String(key.dropLast(5))] = n
        }
        var m: [String: Tensor] = [:], v: [String: Tensor] = [:]
        for (key, t) in tensors {
            if key.hasSuffix(".exp_avg_sq") {
                v[String(key.dropLast(11))] = t
            } else if key.hasSuffix(".exp_avg") {
                m[String(key.dropLast(8))] = t
            } else {
                throw CheckpointError.unexpectedTensor(file: file, key: key, hint: "optimizer tensors are named <param>.exp_avg or <param>.exp_avg_sq")
            }
        }
        self.init(hyperparameters: h, steps: steps, expAvg: m, expAvgSq: v)
    }
}
