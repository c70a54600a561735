import Autograd
import Files
import Foundation
import Kernels
import NN
import Scoring

/// The user model of personalized DPO: ψ, a taste network trained on many users, over a frozen
/// population preference scorer (docs/PERSONALIZATION.md §1).
///
///     P(a ≻ b | user) = σ(α·(s(a, c) − s(b, c)) + ⟨w_u, ψ(a) − ψ(b)⟩)
///
/// The scorer s explains what everybody agrees on (the prompt-dependent part of a label), w_u the user's
/// taste. A new user's w comes from K labelled pairs by MAP under the prior of the training users' weights
/// (`UserPrior`), and their embedding is u = L⁻¹(w − μ). No training per user.
///
/// Folder: config.json, model.safetensors (ψ: `conv_in`, `down_blocks.i`, `proj_hidden`, `proj_out`; the
/// prior: `alpha` [1], `prior_mean` [D], `prior_covariance` [D, D]) and scorer/ (a copy of the frozen scorer).
public final class UserEncoder: Module {
    public let config: UserEncoderConfig
    let convIn: Conv2d
    let downBlocks: [Conv2d]
    let projHidden: Linear
    let projOut: Linear
    /// α, shape [1] (trained with ψ).
    public let alpha: Tensor
    /// μ [D] and Σ [D, D] of the training users' weights (set once training ends).
    let priorMean: Tensor
    let priorCovariance: Tensor
    /// The frozen population scorer (nil only while a folder is being assembled).
    public var scorer: PreferenceScorer?

    public init(config: UserEncoderConfig, scorer: PreferenceScorer? = nil, rng: inout RNG) throws {
        try config.validate()
        if let scorer, scorer.resolution != config.sampleSize {
            throw PersonalizationError.invalidSetting(flag: "sample_size", reason: "is \(config.sampleSize) but the scorer reads \(scorer.resolution)×\(scorer.resolution) images; ψ and the scorer read the same images")
        }
        self.config = config
        self.scorer = scorer
        let c = config.blockOutChannels, d = config.embeddingDim
        convIn = Conv2d(3 + 2, c[0], kernelSize: 3, padding: 1, rng: &rng)
        downBlocks = (1..<c.count).map { Conv2d(c[$0 - 1], c[$0], kernelSize: 3, stride: 2, padding: 1, rng: &rng) }
        projHidden = Linear(config.headInputs, config.hiddenDim, rng: &rng)
        projOut = Linear(config.hiddenDim, d, rng: &rng)
        alpha = Tensor(shape: [1], data: [1])
        priorMean = Tensor(zeros: [d])
        priorCovariance = Tensor(shape: [d, d], data: (0..<(d * d)).map { $0 % (d + 1) == 0 ? 1 : 0 })
    }

    public var ownParameters: [(String, Tensor)] {
        [("alpha", alpha), ("prior_mean", priorMean), ("prior_covariance", priorCovariance)]
    }

    public var children: [(String, any Module)] {
        [("conv_in", convIn)] + downBlocks.enumerated().map { ("down_blocks.\($0.offset)", $0.element) }
            + [("proj_hidden", projHidden), ("proj_out", projOut)]
    }

    /// ψ's own weights (what `user-encoder train` optimises besides α and the per-user table).
    public var tasteParameters: [(String, Tensor)] {
        let own = Set(ownParameters.map(\.0))
        return namedParameters().filter { !own.contains($0.0) }
    }

    /// The stored prior (α, μ, Σ).
    public func prior() throws -> UserPrior {
        try UserPrior(alpha: Double(alpha.data[0]), mean: priorMean.toArray().map(Double.init),
                      covariance: priorCovariance.toArray().map(Double.init))
    }

    /// Stores α, μ and Σ.
    public func setPrior(_ prior: UserPrior) {
        alpha.data[0] = Float(prior.alpha)
        for (i, v) in prior.mean.enumerated() { priorMean.data[i] = Float(v) }
        for (i, v) in prior.covariance.enumerated() { priorCovariance.data[i] = Float(v) }
    }

    /// ψ: [N, 3, S, S] pixels in [−1, 1] → [N, D] taste features.
    public func features(_ pixels: Tensor) throws -> Tensor {
        let s = config.sampleSize
        guard pixels.rank == 4, pixels.shape[0] >= 1, pixels.shape[1] == 3, pixels.shape[2] == s, pixels.shape[3] == s else {
            throw PersonalizationError.input("the user encoder reads [N, 3, \(s), \(s)] images in [-1, 1], got shape \(pixels.shape); resize images to its sample_size")
        }
        let n = pixels.shape[0]
        let stem = silu(convIn(concat([pixels, ImageEncoder.coordinates(batch: n, size: s)], axis: 1)))
        var h = stem
        for block in downBlocks { h = silu(block(h)) }
        let pooled = concat([Self.pool2x2(h), Self.pool2x2(stem)], axis: 1)
        return projOut(silu(projHidden(pooled)))
    }

    /// 2×2 average pool: [N, C, H, W] → [N, C·4] (quadrant means, channel-major).
    static func pool2x2(_ h: Tensor) -> Tensor {
        let (n, c, f) = (h.shape[0], h.shape[1], h.shape[2])
        // [N, C, 2, H/2, W] → mean over rows → [N, C, 2, 2, W/2] → mean over columns.
        let rows = mean(h.reshaped([n, c, 2, f / 2, f]), axis: 3)
        return mean(rows.reshaped([n, c, 2, 2, f / 2]), axis: 4).reshaped([n, c * 4])
    }

    // MARK: Folder

    public static let configFile = "config.json"
    public static let weightsFile = "model.safetensors"
    public static let scorerDirectory = "scorer"

    /// Writes `DIR/config.json`, `DIR/model.safetensors` and the scorer as `DIR/scorer/` (each atomically).
    public func save(to directory: String) throws {
        guard let scorer else { throw PersonalizationError.input("internal: a user encoder is saved with its scorer") }
        let dir = URL(fileURLWithPath: directory)
        try AtomicFile.createDirectories(directory)
        try AtomicFile.write(config.jsonData(), to: dir.appendingPathComponent(Self.configFile).path)
        try SafeTensors.write(stateDict(), metadata: ["format": "pt", "model": "t2ialign.UserEncoder"],
                              to: dir.appendingPathComponent(Self.weightsFile).path)
        try scorer.save(to: dir.appendingPathComponent(Self.scorerDirectory).path,
                        card: "# Frozen population scorer of this user encoder\n\nThe shared part of the user model "
                            + "(docs/PERSONALIZATION.md §1); a copy of the scorer the encoder was trained over.\n")
    }

    /// Reads a folder written by `save` (a `t2ialign user-encoder train` output or a model's `user_encoder/`).
    public static func load(from directory: String) throws -> UserEncoder {
        let dir = URL(fileURLWithPath: directory)
        let config = try UserEncoderConfig.load(from: dir.appendingPathComponent(configFile).path)
        let scorerPath = dir.appendingPathComponent(scorerDirectory).path
        let scorer: PreferenceScorer
        do { scorer = try PreferenceScorer.load(from: scorerPath) } catch {
            throw PersonalizationError.folder(path: scorerPath, reason: "the user encoder's frozen scorer cannot be loaded (\(error)); retrain with `t2ialign user-encoder train --out \(directory)`")
        }
        var rng = RNG(seed: 0)
        let encoder = try UserEncoder(config: config, scorer: scorer, rng: &rng)
        let weights = dir.appendingPathComponent(weightsFile).path
        guard FileManager.default.fileExists(atPath: weights) else {
            throw PersonalizationError.folder(path: weights, reason: "missing; train a user encoder with `t2ialign user-encoder train --out \(directory)`")
        }
        do {
            try encoder.load(stateDict: SafeTensors.read(weights).tensors)
            _ = try encoder.prior()
        } catch let e as ModuleError {
            throw PersonalizationError.folder(path: weights, reason: e.description)
        } catch let e as PersonalizationError {
            throw PersonalizationError.folder(path: weights, reason: "\(e.description); the file is damaged or was not written by `t2ialign user-encoder train`")
        }
        return encoder
    }
}
