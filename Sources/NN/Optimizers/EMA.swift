import Autograd
import Foundation
import Kernels

/// An exponential moving average of a model's weights with the semantics of diffusers' `EMAModel`:
///
///     optimizationStep += 1
///     s = max(0, optimizationStep − updateAfterStep − 1)
///     decay = s == 0 ? 0 : clamp(ramp(s), minDecay … decay)      (the first update copies the weights)
///     shadow ← shadow − (1 − decay)·(shadow − param)   for trainable parameters; frozen ones are copied
///
/// where ramp(s) is `decay` itself (`.off`), (1 + s)/(10 + s) (`.ratio`, diffusers' default), or
/// 1 − (1 + s/γ)^−power (`.power`, diffusers' `use_ema_warmup`).
public final class EMA {
    public enum Warmup: Codable, Equatable, Sendable {
        case off
        case ratio
        case power(inverseGamma: Double, power: Double)
    }

    public struct Configuration: Codable, Equatable, Sendable {
        public var decay: Double
        public var minDecay: Double
        public var updateAfterStep: Int
        public var warmup: Warmup

        /// diffusers' defaults (its default path, `use_ema_warmup=False`, is the `.ratio` ramp).
        public init(decay: Double = 0.9999, minDecay: Double = 0, updateAfterStep: Int = 0, warmup: Warmup = .ratio) {
            self.decay = decay
            self.minDecay = minDecay
            self.updateAfterStep = updateAfterStep
            self.warmup = warmup
        }
    }

    public let configuration: Configuration
    public private(set) var optimizationStep = 0
    /// The averaged weights by parameter name, in the model's parameter order.
    public let shadow: [(name: String, tensor: Tensor)]
    private let index: [String: Int]

    /// Starts from a copy of `namedParameters` (as diffusers' `EMAModel(unet.parameters())`).
    public init(namedParameters: [(String, Tensor)], configuration: Configuration = Configuration()) {
        var seen = Set<String>()
        shadow = namedParameters.filter { seen.insert($0.0).inserted }.map { (name: $0.0, tensor: $0.1.copy()) }
        index = Dictionary(uniqueKeysWithValues: shadow.enumerated().map { ($0.element.name, $0.offset) })
        self.configuration = configuration
    }

    public convenience init(module: any Module, configuration: Configuration = Configuration()) {
        self.init(namedParameters: module.namedParameters(), configuration: configuration)
    }

    /// The decay the update number `optimizationStep` (1-based) uses (diffusers' `get_decay`).
    public func decay(at optimizationStep: Int) -> Double {
        let s = max(0, optimizationStep - configuration.updateAfterStep - 1)
        if s <= 0 { return 0 }
        let ramp: Double
        switch configuration.warmup {
        case .off: ramp = configuration.decay
        case .ratio: ramp = Double(1 + s) / Double(10 + s)
        case .power(let gamma, let power): ramp = 1 - pow(1 + Double(s) / gamma, -power)
        }
        return max(min(ramp, configuration.decay), configuration.minDecay)
    }

    /// One EMA step towards the module's current weights (call after each optimizer step).
    public func update(from module: any Module) throws {
        try update(from: module.namedParameters())
    }

    public func update(from namedParameters: [(String, Tensor)]) throws {
        let current = try matched(namedParameters)
        optimizationStep += 1
        let oneMinusDecay = Float(1 - decay(at: optimizationStep))
        for (i, p) in current.enumerated() {
            let s = shadow[i].tensor
            if p.requiresGrad {
                EMA.blend(shadow: s.data, toward: p.data, count: s.count, oneMinusDecay: oneMinusDecay)
            } else {
                s.assign(p)
            }
        }
    }

    /// Writes the averaged weights into the module (e.g. before sampling or exporting).
    public func copy(to module: any Module) throws {
        try module.load(stateDict: stateDict(), strict: true)
    }

    /// Runs `body` with the module holding the averaged weights, then puts its own weights back
    /// (diffusers' `store` / `copy_to` / `restore`).
    public func withAveragedWeights<R>(in module: any Module, _ body: () throws -> R) throws -> R {
        let saved = module.stateDict().mapValues { $0.copy() }
        try copy(to: module)
        defer { try? module.load(stateDict: saved, strict: true) }
        return try body()
    }

    /// name → averaged weights (sharing storage with the EMA).
    public func stateDict() -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: shadow.map { ($0.name, $0.tensor) })
    }

    /// The module's parameters in shadow order; names and shapes must match exactly.
    private func matched(_ namedParameters: [(String, Tensor)]) throws -> [Tensor] {
        var byName: [String: Tensor] = [:]
        for (n, t) in namedParameters where byName[n] == nil { byName[n] = t }
        var out: [Tensor] = []
        out.reserveCapacity(shadow.count)
        var missing: [String] = []
        for s in shadow {
            guard let p = byName[s.name] else { missing.append(s.name); continue }
            guard p.shape == s.tensor.shape else {
                throw ModuleError.shapeMismatch(name: s.name, expected: s.tensor.shape, found: p.shape)
            }
            out.append(p)
        }
        if !missing.isEmpty { throw ModuleError.missingParameters(missing) }
        if byName.count != shadow.count {
            throw ModuleError.unexpectedParameters(byName.keys.filter { index[$0] == nil }.sorted())
        }
        return out
    }

    /// shadow ← shadow − (1 − decay)·(shadow − param), in torch's operation order.
    static func blend(shadow: UnsafeMutablePointer<Float>, toward param: UnsafePointer<Float>, count: Int, oneMinusDecay: Float) {
        let sp = UncheckedSendable(shadow), pp = UncheckedSendable(param)
        Threading.parallelRanges(count) { r in
            let s = sp.value, p = pp.value
            var i = r.lowerBound
            let w = SIMD16<Float>(repeating: oneMinusDecay)
            while i + 16 <= r.upperBound {
                let sv = UnsafeRawPointer(s + i).loadUnaligned(as: SIMD16<Float>.self)
                let pv = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
                UnsafeMutableRawPointer(s + i).storeBytes(of: sv - w * (sv - pv), as: SIMD16<Float>.self)
                i += 16
            }
            while i < r.upperBound {
                s[i] = s[i] - oneMinusDecay * (s[i] - p[i])
                i += 1
            }
        }
    }

    // MARK: State

    public struct State {
        public var configuration: Configuration
        public var optimizationStep: Int
        public var shadow: [String: Tensor]

        public init(configuration: Configuration, optimizationStep: Int, shadow: [String: Tensor]) {
            self.configuration = configuration
            self.optimizationStep = optimizationStep
            self.shadow = shadow
        }
    }

    /// A copy of the EMA state, detached from later updates.
    public func state() -> State {
        State(configuration: configuration, optimizationStep: optimizationStep,
              shadow: Dictionary(uniqueKeysWithValues: shadow.map { ($0.name, $0.tensor.copy()) }))
    }

    /// Restores averaged weights and the step count. The state must hold exactly this EMA's parameters
    /// with their shapes; `source` names the file in errors. The configuration stays the one this EMA
    /// was built with (a resumed run may change, e.g., the decay on purpose).
    public func load(state: State, source: String = "EMA state") throws {
        guard state.optimizationStep >= 0 else {
            throw CheckpointError.invalidValue(file: source, key: "__metadata__.optimization_step", reason: "negative step count")
        }
        for s in shadow {
            guard let t = state.shadow[s.name] else { throw CheckpointError.missingTensor(file: source, key: s.name) }
            guard t.shape == s.tensor.shape else {
                throw CheckpointError.shapeMismatch(file: source, key: s.name, expected: s.tensor.shape, found: t.shape)
            }
        }
        if let extra = state.shadow.keys.filter({ index[$0] == nil }).sorted().first {
            throw CheckpointError.unexpectedTensor(file: source, key: extra, hint: "the model has no parameter of that name; is this checkpoint for another model configuration?")
        }
        for s in shadow {
            if let t = state.shadow[s.name] { s.tensor.assign(t) }  // presence checked above
        }
        optimizationStep = state.optimizationStep
    }
}

extension EMA.State {
    /// `ema.safetensors` holds the averaged weights under the model's parameter names (loadable as a
    /// model state dict) and the EMA settings in its metadata.
    public var safetensorsMetadata: [String: String] {
        var out: [String: String] = [
            "ema_optimization_step": String(optimizationStep),
            "ema_decay": "\(configuration.decay)", "ema_min_decay": "\(configuration.minDecay)",
            "ema_update_after_step": String(configuration.updateAfterStep),
        ]
        switch configuration.warmup {
        case .off: out["ema_warmup"] = "off"
        case .ratio: out["ema_warmup"] = "ratio"
        case .power(let gamma, let power):
            out["ema_warmup"] = "power"
            out["ema_inv_gamma"] = "\(gamma)"
            out["ema_power"] = "\(power)"
        }
        return out
    }

    public init(safetensors tensors: [String: Tensor], metadata: [String: String], file: String) throws {
        func value<T: LosslessStringConvertible>(_ key: String, _: T.Type) throws -> T {
            guard let s = metadata[key], let x = T(s) else {
                throw CheckpointError.invalidValue(file: file, key: "__metadata__." + key, reason: "missing or not a \(T.self)")
            }
            return x
        }
        let warmup: EMA.Warmup
        switch try value("ema_warmup", String.self) {
        case "off": warmup = .off
        case "ratio": warmup = .ratio
        case "power": warmup = .power(inverseGamma: try value("ema_inv_gamma", Double.self), power: try value("ema_power", Double.self))
        case let other:
            throw CheckpointError.invalidValue(file: file, key: "__metadata__.ema_warmup", reason: "\"\(other)\" is not off, ratio or power")
        }
        let configuration = EMA.Configuration(decay: try value("ema_decay", Double.self), minDecay: try value("ema_min_decay", Double.self),
                                              updateAfterStep: try value("ema_update_after_step", Int.self), warmup: warmup)
        self.init(configuration: configuration, optimizationStep: try value("ema_optimization_step", Int.self), shadow: tensors)
    }
}
