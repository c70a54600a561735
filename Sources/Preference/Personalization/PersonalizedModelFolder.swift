import Diffusion
import Foundation

/// The personalization parts of a model folder, next to diffusers' unet/ and text_encoder/:
///
///     DIR/user_encoder/config.json, model.safetensors      ψ and its logit scale (frozen during DPO)
///     DIR/user_projection/config.json, model.safetensors   u → M tokens (trained with the U-Net)
///
/// `TextToImageModel.load` ignores both, so a personalized model still samples without a user.
public struct PersonalizedModelParts {
    public static let encoderDirectory = "user_encoder"
    public static let projectionDirectory = "user_projection"

    public let encoder: UserEncoder
    public let projection: UserProjection

    public init(encoder: UserEncoder, projection: UserProjection) throws {
        guard encoder.config.embeddingDim == projection.config.embeddingDim else {
            throw PersonalizationError.input("the user encoder's embedding_dim (\(encoder.config.embeddingDim)) differs from the projection's (\(projection.config.embeddingDim))")
        }
        self.encoder = encoder
        self.projection = projection
    }

    /// Whether `modelDirectory` holds a user projection.
    public static func exists(in modelDirectory: String) -> Bool {
        FileManager.default.fileExists(atPath: URL(fileURLWithPath: modelDirectory)
            .appendingPathComponent(projectionDirectory).appendingPathComponent(UserEncoder.configFile).path)
    }

    /// Loads both parts; a folder trained without --personalized is an error that says so.
    public static func load(modelDirectory: String) throws -> PersonalizedModelParts {
        let dir = URL(fileURLWithPath: modelDirectory)
        guard exists(in: modelDirectory) else {
            throw PersonalizationError.folder(path: modelDirectory, reason: "has no \(projectionDirectory)/: it is not a personalized model; train one with `t2ialign train --objective dpo --personalized`, or drop the --user* options")
        }
        return try PersonalizedModelParts(encoder: UserEncoder.load(from: dir.appendingPathComponent(encoderDirectory).path),
                                          projection: UserProjection.load(from: dir.appendingPathComponent(projectionDirectory).path))
    }

    /// Writes both parts into `modelDirectory` (after `TextToImageModel.save`).
    public func save(to modelDirectory: String) throws {
        let dir = URL(fileURLWithPath: modelDirectory)
        try encoder.save(to: dir.appendingPathComponent(Self.encoderDirectory).path)
        try projection.save(to: dir.appendingPathComponent(Self.projectionDirectory).path)
    }
}
