import Files
import Foundation
import NN

/// The user model's taste network ψ (`user_encoder/config.json`).
///
/// ψ is a small CNN on the image (plus two coordinate channels, so "top vs bottom" features such as a
/// background gradient are visible), stride-2 stages, 2×2 average pools of the stem's and the last stage's
/// maps (coarse layout, fine and coarse detail), and a two-layer MLP to `embedding_dim` taste features.
/// No normalisation layers: per-image norms would divide out exactly the global brightness and saturation
/// that users disagree about.
public struct UserEncoderConfig: Codable, Sendable, Equatable {
    /// Image side length ψ reads (dataset images are resized to it).
    public var sampleSize = 32
    /// Channels of the stem (stride 1) and of each following stride-2 stage.
    public var blockOutChannels = [16, 32, 32]
    public var hiddenDim = 64
    /// D: taste features ψ(x), user weights w and user embedding u.
    public var embeddingDim = 4
    /// K: labelled pairs a new user gives.
    public var shots = 4

    public init() {}

    enum CodingKeys: String, CodingKey {
        case sampleSize = "sample_size", blockOutChannels = "block_out_channels", hiddenDim = "hidden_dim"
        case embeddingDim = "embedding_dim", shots
    }

    /// Inputs of the MLP head: 2×2 pools of the stem's and the last stage's channels.
    var headInputs: Int { 4 * (blockOutChannels[0] + blockOutChannels[blockOutChannels.count - 1]) }

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
    }

    public func jsonData() throws -> Data { try JSONFormat.pretty.encode(self) }

    public static func load(from path: String) throws -> UserEncoderConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PersonalizationError.folder(path: path, reason: "missing or unreadable; a user encoder folder holds config.json, model.safetensors and scorer/ as written by `t2ialign user-encoder train`")
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
