import Autograd
import Files

/// A network part with named parameters. Names follow the reference state dicts (diffusers'
/// `UNet2DConditionModel`, transformers' `CLIPTextModel`), e.g.
/// `down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight`, so published weights and
/// checkpoints written by Python load unchanged.
///
/// A module lists its own parameters and its children; everything else (the full names, loading,
/// saving) is derived from those two lists.
public protocol Module: AnyObject {
    /// Parameters held directly by this module, by their reference name (`weight`, `bias`, …).
    var ownParameters: [(String, Tensor)] { get }
    /// Child modules by their reference name (`to_k`, `0`, `transformer_blocks.0`, …).
    var children: [(String, any Module)] { get }
}

extension Module {
    public var ownParameters: [(String, Tensor)] { [] }
    public var children: [(String, any Module)] { [] }

    /// Every parameter with its full dotted name, in a stable order (depth first, declaration order).
    public func namedParameters(prefix: String = "") -> [(String, Tensor)] {
        var out: [(String, Tensor)] = ownParameters.map { (prefix + $0.0, $0.1) }
        for (name, child) in children {
            out += child.namedParameters(prefix: prefix + name + ".")
        }
        return out
    }

    public func parameters() -> [Tensor] { namedParameters().map(\.1) }

    public var parameterCount: Int { parameters().reduce(0) { $0 + $1.count } }

    /// FNV-1a 64 of every parameter's name, shape and values: equal exactly when the weights are, so
    /// caches and resumable evaluations can tell a retrained folder from the one they started with.
    public var weightsFingerprint: UInt64 {
        var h = FNV1a64()
        hashWeights(into: &h)
        return h.value
    }

    /// Feeds every parameter's name, shape and values to `h` (the start of `weightsFingerprint`).
    public func hashWeights(into h: inout FNV1a64) {
        for (name, p) in namedParameters() {
            h.add(Array(name.utf8))
            h.add(p.shape)
            h.add(p.toArray())
        }
    }

    public func zeroGrad() { for p in parameters() { p.grad = nil } }

    /// Freezes or unfreezes every parameter (a frozen network builds no graph).
    public func setRequiresGrad(_ flag: Bool) { for p in parameters() { p.requiresGrad = flag } }

    /// name → tensor (sharing storage with the module).
    public func stateDict() -> [String: Tensor] {
        Dictionary(namedParameters(), uniquingKeysWith: { a, _ in a })
    }

    /// Copies values into the module's parameters. Every parameter must be present with its shape;
    /// with `strict`, names the module does not have are an error too.
    public func load(stateDict: [String: Tensor], strict: Bool = true) throws {
        let own = namedParameters()
        var missing: [String] = []
        for (name, p) in own {
            guard let src = stateDict[name] else { missing.append(name); continue }
            guard src.count == p.count else {
                throw ModuleError.shapeMismatch(name: name, expected: p.shape, found: src.shape)
            }
            p.assign(src)
        }
        if !missing.isEmpty { throw ModuleError.missingParameters(missing) }
        if strict {
            let known = Set(own.map(\.0))
            let unexpected = stateDict.keys.filter { !known.contains($0) }.sorted()
            if !unexpected.isEmpty { throw ModuleError.unexpectedParameters(unexpected) }
        }
    }

    /// Copies every parameter value from another module of the same architecture.
    public func copyParameters(from other: any Module) throws {
        try load(stateDict: other.stateDict())
    }
}

public enum ModuleError: Error, CustomStringConvertible {
    case missingParameters([String])
    case unexpectedParameters([String])
    case shapeMismatch(name: String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case .missingParameters(let n):
            return "checkpoint lacks \(n.count) parameter(s) the model needs, e.g. \(n.prefix(3).joined(separator: ", ")); is it a checkpoint of this model configuration?"
        case .unexpectedParameters(let n):
            return "checkpoint has \(n.count) parameter(s) the model does not, e.g. \(n.prefix(3).joined(separator: ", ")); check the model config"
        case .shapeMismatch(let name, let e, let f):
            return "parameter \(name): the model expects shape \(e), the checkpoint has \(f); check the model config"
        }
    }
}
