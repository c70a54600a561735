import Autograd
import Files
import Foundation
import Kernels
import NN

/// The few-shot preference encoder: ψ maps an image to a feature vector, and a user who labelled K pairs
/// (x_w preferred to x_l) is embedded as the prototype
///
///     u = normalize( mean over the K pairs of ψ(x_w) − ψ(x_l) )
///
/// which predicts that user's choice between any two images a, b as P(a ≻ b) = σ(s·⟨u, ψ(a) − ψ(b)⟩).
/// A new user needs only K pairs and no training; the prototype does not depend on the pairs' order.
///
/// Parameter names: `conv_in`, `down_blocks.i`, `proj_hidden`, `proj_out` and the scalar `logit_scale` (log s).
public final class UserEncoder: Module {
    public let config: UserEncoderConfig
    let convIn: Conv2d
    let downBlocks: [Conv2d]
    let projHidden: Linear
    let projOut: Linear
    /// log s, shape [1].
    public let logitScale: Tensor

    public init(config: UserEncoderConfig, rng: inout RNG) throws {
        try config.validate()
        self.config = config
        let c = config.blockOutChannels
        convIn = Conv2d(3 + 2, c[0], kernelSize: 3, padding: 1, rng: &rng)
        downBlocks = (1..<c.count).map { Conv2d(c[$0 - 1], c[$0], kernelSize: 3, stride: 2, padding: 1, rng: &rng) }
        projHidden = Linear(4 * c[c.count - 1], config.hiddenDim, rng: &rng)
        projOut = Linear(config.hiddenDim, config.embeddingDim, rng: &rng)
        logitScale = Tensor(shape: [1], data: [Foundation.log(config.initialLogitScale)], requiresGrad: true)
    }

    public var ownParameters: [(String, Tensor)] { [("logit_scale", logitScale)] }

    public var children: [(String, any Module)] {
        [("conv_in", convIn)] + downBlocks.enumerated().map { ("down_blocks.\($0.offset)", $0.element) }
            + [("proj_hidden", projHidden), ("proj_out", projOut)]
    }

    /// s = exp(logit_scale).
    public var scale: Float { Foundation.exp(logitScale.data[0]) }

    /// ψ: [N, 3, S, S] pixels in [−1, 1] → [N, embedding_dim].
    public func features(_ pixels: Tensor) throws -> Tensor {
        let s = config.sampleSize
        guard pixels.rank == 4, pixels.shape[0] >= 1, pixels.shape[1] == 3, pixels.shape[2] == s, pixels.shape[3] == s else {
            throw PersonalizationError.input("the user encoder reads [N, 3, \(s), \(s)] images in [-1, 1], got shape \(pixels.shape); resize images to its sample_size")
        }
        let n = pixels.shape[0]
        var h = silu(convIn(concat([pixels, Self.coordinates(batch: n, size: s)], axis: 1)))
        for block in downBlocks { h = silu(block(h)) }
        // 2×2 average pool: [N, C, H, W] → [N, C, 2, H/2, W] → [N, C, 2, W] → [N, C, 2, 2, W/2] → [N, C, 2, 2].
        let c = h.shape[1], f = h.shape[2]
        let rowsPooled = mean(h.reshaped([n, c, 2, f / 2, f]), axis: 3)
        let pooled = mean(rowsPooled.reshaped([n, c, 2, 2, f / 2]), axis: 4)
        return projOut(silu(projHidden(pooled.reshaped([n, 4 * c]))))
    }

    /// ψ(winners) − ψ(losers), one row per pair: [K, 3, S, S] twice → [K, embedding_dim] (one batch).
    public func pairDifferences(winners: Tensor, losers: Tensor) throws -> Tensor {
        guard winners.shape == losers.shape, winners.rank == 4 else {
            throw PersonalizationError.input("winners \(winners.shape) and losers \(losers.shape) must both be [K, 3, S, S]")
        }
        let k = winners.shape[0]
        let f = try features(concat([winners, losers], axis: 0))
        let parts = split(f, sizes: [k, k], axis: 0)
        return parts[0] - parts[1]
    }

    /// The user embedding u [embedding_dim] from K labelled pairs (winner first).
    public func embedding(winners: Tensor, losers: Tensor) throws -> Tensor {
        let d = try pairDifferences(winners: winners, losers: losers)
        return Self.prototype(d)
    }

    /// normalize(mean over rows of `differences` [K, D]) → [D].
    public static func prototype(_ differences: Tensor) -> Tensor {
        l2Normalized(mean(differences, axis: 0))
    }

    /// [N, 2, S, S]: x then y of each pixel centre, from −1 (left/top) to 1 (right/bottom).
    static func coordinates(batch: Int, size: Int) -> Tensor {
        let plane = size * size
        let t = Tensor.uninitialized([batch, 2, size, size])
        let step: Float = size > 1 ? 2 / Float(size - 1) : 0
        for n in 0..<batch {
            let base = t.data + n * 2 * plane
            for y in 0..<size {
                for x in 0..<size {
                    base[y * size + x] = -1 + step * Float(x)
                    base[plane + y * size + x] = -1 + step * Float(y)
                }
            }
        }
        return t
    }

    // MARK: Folder

    public static let configFile = "config.json"
    public static let weightsFile = "model.safetensors"

    /// Writes `DIR/config.json` and `DIR/model.safetensors` (each atomically).
    public func save(to directory: String) throws {
        let dir = URL(fileURLWithPath: directory)
        try AtomicFile.write(config.jsonData(), to: dir.appendingPathComponent(Self.configFile).path)
        try SafeTensors.write(stateDict(), metadata: ["format": "pt", "model": "t2ialign.UserEncoder"],
                              to: dir.appendingPathComponent(Self.weightsFile).path)
    }

    /// Reads a folder written by `save` (a `t2ialign user-encoder train` output or a model's `user_encoder/`).
    public static func load(from directory: String) throws -> UserEncoder {
        let dir = URL(fileURLWithPath: directory)
        let config = try UserEncoderConfig.load(from: dir.appendingPathComponent(configFile).path)
        var rng = RNG(seed: 0)
        let encoder = try UserEncoder(config: config, rng: &rng)
        let weights = dir.appendingPathComponent(weightsFile).path
        guard FileManager.default.fileExists(atPath: weights) else {
            throw PersonalizationError.folder(path: weights, reason: "missing; train a user encoder with `t2ialign user-encoder train --out \(directory)`")
        }
        do {
            try encoder.load(stateDict: SafeTensors.read(weights).tensors)
        } catch let e as ModuleError {
            throw PersonalizationError.folder(path: weights, reason: e.description)
        }
        return encoder
    }
}
