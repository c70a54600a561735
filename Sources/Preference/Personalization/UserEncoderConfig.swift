import Files
import Foundation
import NN

/// The few-shot user encoder's architecture (`user_encoder/config.json`).
///
/// ψ is a small CNN on the image (plus two coordinate channels, so "top vs bottom" features such as a
/// background gradient are visible), stride-2 stages, a 2×2 average pool that keeps coarse layout, and a
/// two-layer MLP to `embedding_dim`. No normalisation layers: per-image norms would divide out exactly
/// the global brightness and saturation that users disagree about.
public struct UserEncoderConfig: Codable, Sendable, Equatable {
    /// Image side length ψ reads (dataset images are resized to it).
    public var sampleSize = 32
    /// Channels of the stem (stride 1) and of each following stride-2 stage.
    public var blockOutChannels = [16, 32, 32]
    public var hiddenDim = 64
    /// Dimension of ψ(x) and of the user embedding u.
    public var embeddingDim = 32
    /// K: labelled pairs a user gives (the support set of an episode).
    public var shots = 4
    /// Initial s of logit = s·⟨u, ψ(a) − ψ(b)⟩ (stored as log s, as CLIP's logit_scale).
    public var initialLogitScale: Float = 10

    public init() {}

    enum CodingKeys: String, CodingKey {
        case sampleSize = "sample_size", blockOutChannels = "block_out_channels", hiddenDim = "hidden_dim"
        case embeddingDim = "embedding_dim", shots, initialLogitScale = "initial_logit_scale"
    }

    /// Spatial side after the stages.
    public var finalSize: Int { sampleSize >> max(0, blockOutChannels.count - 1) }

    public func validate() throws {
        func bad(_ field: String, _ why: String) -> PersonalizationError { .invalidSetting(flag: field, reason: why) }
        guard !blockOutChannels.isEmpty, blockOutChannels.allSatisfy({ $0 > 0 }) else {
            throw bad("block_out_channels", "must be a non-empty list of positive channel counts")
        }
        let divisor = 1 << blockOutChannels.count
        guard sampleSize >= divisor, sampleSize % divisor == 0 else {
            throw bad("sample_size", "must be a positive multiple of \(divisor) (2 × 2^stages), got \(sampleSize)")
        }
        guard hiddenDim > 0 else { throw bad("hidden_dim", "must be positive") }
        guard embeddingDim > 0 else { throw bad("embedding_dim", "must be positive") }
        guard shots >= 1 else { throw bad("shots", "must be at least 1") }
        guard initialLogitScale > 0, initialLogitScale.isFinite else { throw bad("initial_logit_scale", "must be a positive number") }
    }

    public func jsonData() throws -> Data { try JSONFormat.pretty.encode(self) }

    public static func load(from path: String) throws -> UserEncoderConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PersonalizationError.folder(path: path, reason: "missing or unreadable; a user encoder folder holds config.json and model.safetensors as written by `t2ialign user-encoder train`")
        }
        let config: UserEncoderConfig
        do { config = try JSONDecoder().decode(UserEncoderConfig.self, from: data) } catch {
            throw PersonalizationError.folder(path: path, reason: "not a user encoder config (\(error))")
        }
        do { try config.validate() } catch let e as PersonalizationError {
            throw PersonalizationError.folder(path: path, reason: e.description)
        }
        return config
    }
}
