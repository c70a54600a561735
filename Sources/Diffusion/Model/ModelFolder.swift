import Autograd
import Files
import Foundation
import Kernels
import NN

/// Reading and writing a `TextToImageModel` as a diffusers-style pipeline folder (see `TextToImageModel`).
extension TextToImageModel {
    static let unetWeights = "unet/diffusion_pytorch_model.safetensors"
    static let unetConfigFile = "unet/config.json"
    static let textWeights = "text_encoder/model.safetensors"
    static let textConfigFile = "text_encoder/config.json"
    static let schedulerConfigFile = "scheduler/scheduler_config.json"
    static let cardFile = "README.md"

    /// Loads a model folder; every problem names the file and what to do.
    public static func load(from directory: String) throws -> TextToImageModel {
        let dir = URL(fileURLWithPath: directory)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw ModelFolderError.notAModel(directory, "no such directory; pass a model folder: RUN/model as written by `t2ialign pretrain` or `train`, or a shipped one under Models/")
        }
        for file in [unetConfigFile, unetWeights, textConfigFile, textWeights] {
            guard FileManager.default.fileExists(atPath: dir.appendingPathComponent(file).path) else {
                throw ModelFolderError.notAModel(directory, "missing \(file); a model folder holds unet/, text_encoder/ and scheduler/ as written by `t2ialign pretrain` or `train`")
            }
        }
        let unetConfig = try UNetConfig.load(from: dir.appendingPathComponent(unetConfigFile).path)
        let textConfig = try TextEncoderConfig.load(from: dir.appendingPathComponent(textConfigFile).path)
        let schedulePath = dir.appendingPathComponent(schedulerConfigFile).path
        let schedule = FileManager.default.fileExists(atPath: schedulePath)
            ? try SchedulerConfigFile.load(from: schedulePath) : try NoiseSchedule()

        var rng = RNG(seed: 0)
        let model = try TextToImageModel(unet: UNet2DConditionModel(config: unetConfig, rng: &rng),
                                         textEncoder: TextEncoder(config: textConfig, rng: &rng), schedule: schedule)
        let unetPath = dir.appendingPathComponent(unetWeights).path
        do {
            try model.unet.load(stateDict: SafeTensors.read(unetPath).tensors)
        } catch let e as ModuleError {
            throw ModelFolderError.weights(unetPath, e.description)
        }
        let textPath = dir.appendingPathComponent(textWeights).path
        do {
            try model.textEncoder.load(transformersStateDict: SafeTensors.read(textPath).tensors)
        } catch let e as ModuleError {
            throw ModelFolderError.weights(textPath, e.description)
        }
        return model
    }

    /// Writes the folder (each file atomically), with `card` as README.md when given.
    public func save(to directory: String, card: String? = nil, metadata: [String: String] = [:]) throws {
        let dir = URL(fileURLWithPath: directory)
        func path(_ file: String) -> String { dir.appendingPathComponent(file).path }
        var meta = metadata
        meta["format"] = "pt"
        try SafeTensors.write(unet.stateDict(), metadata: meta, to: path(Self.unetWeights))
        try AtomicFile.write(unet.config.jsonData(), to: path(Self.unetConfigFile))
        try SafeTensors.write(textEncoder.stateDict(), metadata: meta, to: path(Self.textWeights))
        try AtomicFile.write(textEncoder.config.jsonData(), to: path(Self.textConfigFile))
        try AtomicFile.write(SchedulerConfigFile.encode(schedule), to: path(Self.schedulerConfigFile))
        let index: [String: Any] = [
            "_class_name": "t2ialign.TextToImageModel",
            "unet": ["diffusers", "UNet2DConditionModel"],
            "text_encoder": ["transformers", "CLIPTextModel"],
            "scheduler": ["diffusers", "DDPMScheduler"],
            "tokenizer": "byte-level: BOS 256 + UTF-8 bytes + EOS 257, PAD 258, length \(tokenizer.length)",
        ]
        try AtomicFile.write(JSONSerialization.data(withJSONObject: index, options: [.prettyPrinted, .sortedKeys]),
                             to: path("model_index.json"))
        if let card { try AtomicFile.write(card, to: path(Self.cardFile)) }
    }
}

/// diffusers' scheduler_config.json for the DDPM noise schedule (what training and both samplers share).
enum SchedulerConfigFile {
    static func encode(_ schedule: NoiseSchedule) throws -> Data {
        var config: [String: Any] = [
            "_class_name": "DDPMScheduler",
            "num_train_timesteps": schedule.trainTimesteps,
            "beta_schedule": schedule.betaSchedule.name,
            "prediction_type": schedule.predictionType.name,
            "clip_sample": false,
        ]
        if case .linear(let start, let end) = schedule.betaSchedule {
            config["beta_start"] = start; config["beta_end"] = end
        } else if case .scaledLinear(let start, let end) = schedule.betaSchedule {
            config["beta_start"] = start; config["beta_end"] = end
        }
        return try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
    }

    static func load(from path: String) throws -> NoiseSchedule {
        guard let data = FileManager.default.contents(atPath: path),
              let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelFolderError.config(path, "unreadable or not a JSON object")
        }
        let name = json["beta_schedule"] as? String ?? "linear"
        let steps = json["num_train_timesteps"] as? Int ?? 1000
        let start = json["beta_start"] as? Double, end = json["beta_end"] as? Double
        do {
            return try NoiseSchedule(BetaSchedule(name: name, betaStart: start, betaEnd: end), trainTimesteps: steps,
                                     predictionType: PredictionType(name: json["prediction_type"] as? String ?? "epsilon"))
        } catch {
            throw ModelFolderError.config(path, "\(error)")
        }
    }
}

public enum ModelFolderError: Error, CustomStringConvertible, LocalizedError {
    case notAModel(String, String)
    case weights(String, String)
    case config(String, String)
    case mismatch(String)

    public var description: String {
        switch self {
        case .notAModel(let dir, let why): return "\(dir) is not a model folder: \(why)"
        case .weights(let file, let why): return "\(file): \(why)"
        case .config(let file, let why): return "\(file): \(why)"
        case .mismatch(let why): return "inconsistent model: \(why)"
        }
    }
    public var errorDescription: String? { description }
}
