import Autograd
import Datasets
import Files
import Foundation
import Kernels
import NN

/// Pretraining of a text-to-image model on captioned images with the denoising loss
/// mean over the batch of mean over C·H·W of (ε̂(x_t, t, c) − ε)², t ~ U{0..T−1}.
///
/// The run directory holds everything: `config.json` (every value used), `metrics.jsonl` (one line per
/// step), `checkpoint/` (model, EMA, optimizer, RNG states: an exact resume point, written atomically every
/// `checkpointEvery` steps and on Ctrl-C), and `model/` (the final EMA weights as a model folder).
/// Starting a run in a directory that holds a checkpoint resumes it, and continues the same trajectory.
public final class Pretrainer {
    public struct Metrics: StepMetrics, Sendable {
        public var step: Int
        public var loss: Double
        public var lr: Double
        public var gradNorm: Double
        public var seconds: Double
    }

    /// What the checkpoint's state.json carries besides weights and optimizer.
    struct RunState: Codable {
        var config: PretrainingConfig
        var source: String
    }

    public let model: TextToImageModel
    public let source: CaptionedImageSource
    public let config: PretrainingConfig
    public let runDirectory: URL

    public init(model: TextToImageModel, source: CaptionedImageSource, config: PretrainingConfig, runDirectory: String) throws {
        try config.validate()
        guard source.resolution == model.resolution else {
            throw TrainingConfigError.invalid(flag: "--resolution", reason: "data is \(source.resolution)×\(source.resolution) but the model's sample_size is \(model.resolution)")
        }
        self.model = model
        self.source = source
        self.config = config
        self.runDirectory = URL(fileURLWithPath: runDirectory)
    }

    var checkpointPath: String { runDirectory.appendingPathComponent("checkpoint").path }
    var metricsPath: String { runDirectory.appendingPathComponent("metrics.jsonl").path }
    public var modelPath: String { runDirectory.appendingPathComponent("model").path }

    /// Trains to `config.steps` (resuming if a checkpoint exists), then writes the model folder.
    /// Returns false when interrupted (a checkpoint was saved; run again to continue).
    @discardableResult
    public func run(card: (_ finalLoss: Double, _ seconds: Double, _ step: Int) -> String) throws -> Bool {
        model.textEncoder.setRequiresGrad(config.trainTextEncoder)
        model.unet.setRequiresGrad(true)
        let trainable = model.namedParameters().filter { $0.1.requiresGrad }
        let optimizer = AdamW(namedParameters: trainable,
                              hyperparameters: .init(lr: config.learningRate, weightDecay: config.weightDecay))
        let ema = config.emaDecay > 0 ? EMA(module: model, configuration: .init(decay: config.emaDecay)) : nil
        let lrSchedule = try LRSchedule(name: config.lrSchedule, baseLR: config.learningRate,
                                        warmupSteps: config.warmupSteps, totalSteps: config.steps)
        var rngs: [String: RNG] = [
            "data": RNG(seed: config.seed, stream: 1), "noise": RNG(seed: config.seed, stream: 2),
            "timesteps": RNG(seed: config.seed, stream: 3), "dropout": RNG(seed: config.seed, stream: 4),
        ]
        var step = 0
        if TrainingCheckpoint<RunState>.exists(at: checkpointPath) {
            let ckpt = try TrainingCheckpoint<RunState>.load(from: checkpointPath)
            guard ckpt.training.config.withoutSteps == config.withoutSteps else {
                throw TrainingConfigError.resumeMismatch("\(checkpointPath) was written with different settings; resume with the same flags (see \(runDirectory.path)/config.json) or use a new --out directory")
            }
            try ckpt.restore(model: model, optimizer: optimizer, ema: ema)
            rngs = ckpt.rngs
            step = ckpt.step
            try MetricsFile.truncate(metricsPath, after: step, as: Metrics.self)
            print("resuming \(runDirectory.path) from step \(step)")
        } else {
            try AtomicFile.write(JSONFormat.pretty.encode(config), to: runDirectory.appendingPathComponent("config.json").path)
            try? FileManager.default.removeItem(atPath: metricsPath)
        }

        let saveCheckpoint = { (at: Int) in
            try TrainingCheckpoint(step: at, model: self.model, optimizer: optimizer, ema: ema, rngs: rngs,
                                   schedule: lrSchedule, training: RunState(config: self.config, source: self.source.summary))
                .save(to: self.checkpointPath)
        }
        let interrupt = InterruptFlag.shared
        var progress = ProgressLine(total: config.steps, label: "pretrain", startStep: step)
        let start = Date()
        var lastLoss = Double.nan
        let r = model.resolution, b = config.batchSize
        let params = trainable.map(\.1)
        while step < config.steps {
            if interrupt.isRaised {
                try saveCheckpoint(step)
                print("saved \(checkpointPath) at step \(step); run the same command again to resume")
                return false
            }
            let (images, captions) = try source.batch(count: b, rng: &rngs["data"]!)
            let prompts = captions.map { rngs["dropout"]!.nextBool(probability: config.promptDropout) ? "" : $0 }
            let x0 = Tensor(shape: [b, 3, r, r], data: images)
            let noise = Tensor.randn([b, 3, r, r], rng: &rngs["noise"]!)
            if let offset = config.noiseOffset, offset > 0 {
                Self.addOffsetNoise(to: noise, scale: Float(offset), rng: &rngs["noise"]!)
            }
            let t = (0..<b).map { _ in rngs["timesteps"]!.nextInt(below: model.schedule.trainTimesteps) }
            let xt = try model.schedule.addNoise(x0: x0, noise: noise, timesteps: t)

            let context = try model.encode(prompts)
            let prediction = try model.predictNoise(xt, timesteps: t.map(Float.init), context: context)
            let target = try model.schedule.trainingTarget(x0: x0, noise: noise, timesteps: t)  // ε, or v
            let loss = mean(mseLossPerSample(prediction: prediction, target: target))
            optimizer.zeroGrad()
            loss.backward()
            let norm = clipGradNorm(params, maxNorm: Float(config.maxGradNorm))
            optimizer.lr = lrSchedule.lr(at: step)
            optimizer.step()
            try ema?.update(from: model)
            step += 1

            lastLoss = Double(loss.item())
            guard lastLoss.isFinite else {
                throw TrainingConfigError.invalid(flag: "--lr", reason: "training diverged at step \(step) (loss \(lastLoss)); lower the learning rate or raise --warmup")
            }
            try JSONLines.append(Metrics(step: step, loss: lastLoss, lr: optimizer.lr, gradNorm: Double(norm),
                                         seconds: Date().timeIntervalSince(start)), to: metricsPath)
            progress.update(step: step, values: [("loss", lastLoss), ("lr", optimizer.lr)])
            if step % config.checkpointEvery == 0 || step == config.steps {
                try saveCheckpoint(step)
                // A usable model at every checkpoint, not only at the end.
                if step < config.steps { try writeModel(ema: ema, card: card(lastLoss, Date().timeIntervalSince(start), step)) }
            }
        }
        try writeModel(ema: ema, card: card(lastLoss, Date().timeIntervalSince(start), config.steps))
        return true
    }

    /// Adds `scale · n` to every element of each image's channel, one n ~ N(0, 1) per (image, channel):
    /// diffusers' `noise += noise_offset * torch.randn((B, C, 1, 1))`.
    public static func addOffsetNoise(to noise: Tensor, scale: Float, rng: inout RNG) {
        let (b, c) = (noise.shape[0], noise.shape[1]), plane = noise.shape[2] * noise.shape[3]
        let shifts = Tensor.randn([b, c], rng: &rng).toArray()
        for (i, n) in shifts.enumerated() {
            let base = noise.data + i * plane
            for j in 0..<plane { base[j] += scale * n }
        }
    }

    /// Writes `model/`: the EMA weights when an EMA is kept, the raw weights otherwise.
    func writeModel(ema: EMA?, card: String) throws {
        if let ema {
            try ema.withAveragedWeights(in: model) { try model.save(to: modelPath, card: card) }
        } else {
            try model.save(to: modelPath, card: card)
        }
    }
}

extension PretrainingConfig {
    /// The settings that must match to resume (the step budget may be extended).
    var withoutSteps: PretrainingConfig {
        var c = self
        c.steps = 0
        return c
    }
}
