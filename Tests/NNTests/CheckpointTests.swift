import Autograd
import Foundation
import Kernels
import NN
import XCTest

final class CheckpointTests: XCTestCase {
    struct Training: Codable, Equatable {
        var objective: String
        var beta: Double
        var losses: [Double]
    }

    /// A model, optimizer and EMA after `steps` training steps with deterministic gradients.
    private func trainedRun(steps: Int) throws -> (TinyModel, AdamW, EMA) {
        let model = TinyModel(seed: 0.5)
        let opt = AdamW(namedParameters: model.namedParameters(), hyperparameters: .init(lr: 1e-2, weightDecay: 0.05))
        let ema = EMA(module: model, configuration: .init(decay: 0.9))
        for k in 0..<steps { try trainStep(k, model, opt, ema) }
        return (model, opt, ema)
    }

    private func trainStep(_ k: Int, _ model: TinyModel, _ opt: AdamW, _ ema: EMA) throws {
        for (j, (_, p)) in model.namedParameters().enumerated() {
            p.grad = Tensor(shape: p.shape, data: sinValues(p.count, offset: Double(k * 3 + j)))
        }
        opt.step()
        try ema.update(from: model)
    }

    private let training = Training(objective: "diffusion-dpo", beta: 5000, losses: [0.69, 0.61])

    private func makeCheckpoint(_ model: TinyModel, _ opt: AdamW, _ ema: EMA?, step: Int = 3) throws -> TrainingCheckpoint<Training> {
        var rng = RNG(seed: UInt64.max - 12345, stream: 1 << 60)
        _ = rng.normal(count: 10)
        return TrainingCheckpoint(step: step, model: model, optimizer: opt, ema: ema,
                                  rngs: ["noise": rng, "timesteps": RNG(seed: 7)],
                                  schedule: try LRSchedule(.cosine, baseLR: 1e-2, warmupSteps: 2, totalSteps: 50),
                                  training: training)
    }

    func testSaveLoadRestoreIsIdenticalAndResumesExactly() throws {
        let dir = try makeTemporaryDirectory(self) + "/run/checkpoint-3"
        let (model, opt, ema) = try trainedRun(steps: 3)
        let checkpoint = try makeCheckpoint(model, opt, ema)
        try checkpoint.save(to: dir)
        for file in ["model.safetensors", "ema.safetensors", "optimizer.safetensors", "state.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/" + file), file)
        }
        // model.safetensors is a plain state dict (e.g. for `sample`), optimizer tensors use torch's names.
        XCTAssertEqual(Set(try SafeTensors.read(dir + "/model.safetensors").tensors.keys), ["bias", "inner.weight"])
        XCTAssertEqual(Set(try SafeTensors.read(dir + "/optimizer.safetensors").tensors.keys),
                       ["bias.exp_avg", "bias.exp_avg_sq", "inner.weight.exp_avg", "inner.weight.exp_avg_sq"])

        let loaded = try TrainingCheckpoint<Training>.load(from: dir)
        XCTAssertEqual(loaded.step, 3)
        XCTAssertEqual(loaded.scheduleStep, 3)
        XCTAssertEqual(loaded.training, training)
        XCTAssertEqual(loaded.rngs, checkpoint.rngs)
        XCTAssertEqual(loaded.schedule, checkpoint.schedule)
        for (name, t) in checkpoint.model { XCTAssertEqual(loaded.model[name].map(bits), bits(t), name) }

        let model2 = TinyModel(seed: -3)
        let opt2 = AdamW(namedParameters: model2.namedParameters())
        let ema2 = EMA(module: model2, configuration: .init(decay: 0.9))
        try loaded.restore(model: model2, optimizer: opt2, ema: ema2)
        XCTAssertEqual(opt2.hyperparameters, opt.hyperparameters)
        XCTAssertEqual(ema2.optimizationStep, 3)

        // Both runs continue for two steps and stay bit-identical.
        for k in 3..<5 {
            try trainStep(k, model, opt, ema)
            try trainStep(k, model2, opt2, ema2)
        }
        for ((name, a), (_, b)) in zip(model.namedParameters(), model2.namedParameters()) {
            XCTAssertEqual(bits(a), bits(b), name)
        }
        for (name, t) in ema.stateDict() { XCTAssertEqual(ema2.stateDict()[name].map(bits), bits(t), "ema \(name)") }
        var rngA = checkpoint.rngs["noise"], rngB = loaded.rngs["noise"]
        XCTAssertEqual(rngA?.normal(count: 5), rngB?.normal(count: 5))
    }

    func testOverwriteIsAtomicAndLeavesNoTemporaries() throws {
        let root = try makeTemporaryDirectory(self)
        let dir = root + "/latest/"
        let (model, opt, ema) = try trainedRun(steps: 1)
        try makeCheckpoint(model, opt, ema, step: 1).save(to: dir)
        try trainStep(1, model, opt, ema)
        try makeCheckpoint(model, opt, nil, step: 2).save(to: dir)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root), ["latest"])
        let loaded = try TrainingCheckpoint<Training>.load(from: dir)
        XCTAssertEqual(loaded.step, 2)
        XCTAssertNil(loaded.ema)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/latest/ema.safetensors"), "the old EMA file must not survive")
    }

    /// A crash between `DIR → DIR.old` and `DIR.tmp → DIR`: load completes the swap with the new
    /// checkpoint when it is complete, and falls back to the previous one when it is not.
    func testLoadRecoversFromInterruptedSwap() throws {
        let root = try makeTemporaryDirectory(self)
        let dir = root + "/ckpt"
        let (model, opt, ema) = try trainedRun(steps: 1)
        try makeCheckpoint(model, opt, ema, step: 1).save(to: dir)
        try makeCheckpoint(model, opt, ema, step: 2).save(to: root + "/staging")
        let fm = FileManager.default

        try fm.moveItem(atPath: dir, toPath: dir + ".old")
        try fm.moveItem(atPath: root + "/staging", toPath: dir + ".tmp")
        XCTAssertTrue(TrainingCheckpoint<Training>.exists(at: dir))
        XCTAssertFalse(TrainingCheckpoint<Training>.exists(at: root + "/other"))
        XCTAssertEqual(try TrainingCheckpoint<Training>.load(from: dir).step, 2)

        // Now the new one is incomplete (state.json not written yet): the previous checkpoint comes back.
        XCTAssertTrue(fm.fileExists(atPath: dir + ".old/state.json"), "step-1 checkpoint kept until the next save")
        try fm.removeItem(atPath: dir)
        try fm.createDirectory(atPath: dir + ".tmp", withIntermediateDirectories: false)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dir + ".tmp/model.safetensors"))
        XCTAssertEqual(try TrainingCheckpoint<Training>.load(from: dir).step, 1)
    }

    // MARK: Corrupt checkpoints

    private func savedCheckpoint() throws -> String {
        let dir = try makeTemporaryDirectory(self) + "/ckpt"
        let (model, opt, ema) = try trainedRun(steps: 2)
        try makeCheckpoint(model, opt, ema).save(to: dir)
        return dir
    }

    private func loadError(_ dir: String, line: UInt = #line) -> CheckpointError? {
        do {
            _ = try TrainingCheckpoint<Training>.load(from: dir)
            XCTFail("corrupt checkpoint was accepted", line: line)
        } catch let e as CheckpointError {
            return e
        } catch {
            XCTFail("untyped error \(error)", line: line)
        }
        return nil
    }

    func testMissingDirectoryAndFiles() throws {
        let dir = try savedCheckpoint()
        guard case .notFound = loadError(dir + "-nope") else { return XCTFail("missing directory") }
        try FileManager.default.removeItem(atPath: dir + "/optimizer.safetensors")
        guard case .missingFile(let file) = loadError(dir) else { return XCTFail("missing optimizer") }
        XCTAssertEqual(file, dir + "/optimizer.safetensors")

        let dir2 = try savedCheckpoint()
        try FileManager.default.removeItem(atPath: dir2 + "/ema.safetensors")
        guard case .missingFile(let emaFile) = loadError(dir2) else { return XCTFail("missing ema") }
        XCTAssertEqual(emaFile, dir2 + "/ema.safetensors")
    }

    func testTruncatedTensorFileNamesTheFile() throws {
        let dir = try savedCheckpoint()
        let path = dir + "/model.safetensors"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count - 3).write(to: URL(fileURLWithPath: path))
        let error = loadError(dir)
        guard case .corruptFile(let inner) = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(inner.file, path)
        XCTAssertTrue(error?.description.contains("truncated") ?? false, "\(String(describing: error))")
    }

    func testCorruptStateJSON() throws {
        let dir = try savedCheckpoint()
        let path = dir + "/state.json"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try String(text.prefix(text.count / 2)).write(toFile: path, atomically: true, encoding: .utf8)
        guard case .invalidState(let file, _) = loadError(dir) else { return XCTFail("truncated state.json") }
        XCTAssertEqual(file, path)

        try text.replacingOccurrences(of: "\"diffusion-dpo\"", with: "42").write(toFile: path, atomically: true, encoding: .utf8)
        guard case .invalidState(_, let reason) = loadError(dir) else { return XCTFail("wrong training type") }
        XCTAssertTrue(reason.contains("objective"), reason)

        try text.replacingOccurrences(of: "t2ialign-training-checkpoint", with: "other").write(toFile: path, atomically: true, encoding: .utf8)
        guard case .invalidState = loadError(dir) else { return XCTFail("wrong format") }
    }

    func testOptimizerFromAnotherModelIsRejected() throws {
        let dir = try savedCheckpoint()
        let path = dir + "/optimizer.safetensors"
        var (tensors, metadata) = try SafeTensors.read(path)
        tensors["bias.exp_avg"] = Tensor(zeros: [7])
        try SafeTensors.write(tensors, metadata: metadata, to: path)
        guard case .shapeMismatch(let file, "bias.exp_avg", [4], [7]) = loadError(dir) else { return XCTFail("shape") }
        XCTAssertEqual(file, path)

        tensors["bias.exp_avg"] = nil
        tensors["decoder.exp_avg"] = Tensor(zeros: [4])
        metadata["decoder.step"] = "2"
        try SafeTensors.write(tensors, metadata: metadata, to: path)
        guard case .unexpectedTensor(_, "decoder.exp_avg", _) = loadError(dir) else { return XCTFail("unknown param") }
    }

    func testRestoreIntoDifferentModelNamesFileAndKey() throws {
        let dir = try savedCheckpoint()
        let loaded = try TrainingCheckpoint<Training>.load(from: dir)

        final class Wider: Module {
            let bias = Tensor(zeros: [5], requiresGrad: true)
            let extra = Tensor(zeros: [1], requiresGrad: true)
            var ownParameters: [(String, Tensor)] { [("bias", bias), ("extra", extra)] }
        }
        XCTAssertThrowsError(try loaded.restore(model: Wider())) { error in
            guard case .shapeMismatch(let file, "bias", [5], [4]) = error as? CheckpointError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, dir + "/model.safetensors")
        }
        final class Renamed: Module {
            let bias = Tensor(zeros: [4], requiresGrad: true)
            let w = Tensor(zeros: [2, 3], requiresGrad: true)
            var ownParameters: [(String, Tensor)] { [("bias", bias), ("w", w)] }
        }
        XCTAssertThrowsError(try loaded.restore(model: Renamed())) { error in
            guard case .missingTensor(_, "w") = error as? CheckpointError else { return XCTFail("\(error)") }
        }
        // Nothing was written into the model by a failed restore.
        let target = TinyModel(seed: 9)
        let before = target.bias.toArray()
        let smallOpt = AdamW(namedParameters: [("bias", target.bias)])
        XCTAssertThrowsError(try loaded.restore(model: target, optimizer: smallOpt)) { error in
            guard case .unexpectedTensor(_, "inner.weight.exp_avg", _) = error as? CheckpointError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(target.bias.toArray(), before)
    }
}
