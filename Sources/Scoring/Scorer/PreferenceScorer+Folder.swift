import Autograd
import Files
import Foundation
import Kernels
import NN

/// A scorer on disk is a folder: `model.safetensors` (the state dict, F32), `config.json`
/// (`PreferenceScorerConfig`) and `README.md` (the card: command, data, budget, agreements).
extension PreferenceScorer {
    public static let weightsFile = "model.safetensors"
    public static let configFile = "config.json"
    public static let cardFile = "README.md"

    /// Writes the folder, each file atomically (weights and config first, the card last).
    public func save(to directory: String, card: String) throws {
        try AtomicFile.createDirectories(directory)
        let dir = URL(fileURLWithPath: directory)
        try SafeTensors.write(stateDict(), metadata: ["format": "pt", "model_type": PreferenceScorerConfig.modelType],
                              to: dir.appendingPathComponent(Self.weightsFile).path)
        try AtomicFile.write(config.jsonData(), to: dir.appendingPathComponent(Self.configFile).path)
        try AtomicFile.write(card, to: dir.appendingPathComponent(Self.cardFile).path)
    }

    /// Loads a scorer folder. Every problem is a `ScorerError` naming the file (and key) and what to do.
    public static func load(from directory: String) throws -> PreferenceScorer {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ScorerError.notAScorer(directory: directory, reason: "no such directory")
        }
        let dir = URL(fileURLWithPath: directory)
        for file in [configFile, weightsFile] where !FileManager.default.fileExists(atPath: dir.appendingPathComponent(file).path) {
            throw ScorerError.notAScorer(directory: directory, reason: "it has no \(file)")
        }
        let config = try PreferenceScorerConfig.load(from: dir.appendingPathComponent(configFile).path)
        var rng = RNG(seed: 0)
        let scorer = try PreferenceScorer(config: config, rng: &rng)
        let weightsPath = dir.appendingPathComponent(weightsFile).path
        let tensors: [String: Tensor]
        do {
            tensors = try SafeTensors.read(weightsPath).tensors
        } catch let e as SafeTensorsError {
            throw ScorerError.weights(file: weightsPath, reason: "\(e.description)")
        }
        do {
            try scorer.load(stateDict: tensors)
        } catch let e as ModuleError {
            throw ScorerError.weights(file: weightsPath, reason: "\(e.description) (config.json and the weights must come from the same training run)")
        }
        for (name, t) in scorer.namedParameters() where !(0..<t.count).allSatisfy({ t.data[$0].isFinite }) {
            throw ScorerError.weights(file: weightsPath, reason: "tensor \(name) holds NaN or infinite values; the training diverged or the file is damaged — retrain or use an earlier checkpoint")
        }
        return scorer
    }
}
