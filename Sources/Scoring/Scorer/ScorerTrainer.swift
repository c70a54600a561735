import Autograd
import Datasets
import Diffusion
import Files
import Foundation
import Kernels
import NN

/// Trains a `PreferenceScorer` on preference pairs with the PickScore objective (`PreferencePairLoss`):
/// per step B pairs (ties kept, target ½/½), rows weighted by 1/num_example_per_prompt, AdamW with a
/// warmup/decay schedule and gradient clipping, logit_scale clamped to [0, ln 100] after every update.
///
/// The run directory is laid out as pretraining's: `config.json` (every value used), `metrics.jsonl` (one
/// line per step), `checkpoint/` (weights, optimizer, EMA, loader position: an exact resume point, written
/// atomically every `checkpointEvery` steps, at the end and on Ctrl-C) and `model/` (the scorer folder).
/// A run started in a directory holding a checkpoint resumes it and continues the same trajectory.
public final class ScorerTrainer {
    public struct Metrics: StepMetrics, Sendable {
        public var step: Int
        /// pairLoss + captionLossWeight · captionLoss.
        public var loss: Double
        /// The PickScore pair loss.
        public var pairLoss: Double
        /// The caption contrastive loss (nil when off or the batch has no per-image captions).
        public var captionLoss: Double?
        /// Share of the batch's non-tie pairs whose labelled winner scored higher (nil without any).
        public var accuracy: Double?
        /// exp(logit_scale) after the update.
        public var scale: Double
        public var lr: Double
        public var gradNorm: Double
        /// Training wall time so far, summed over resumed segments.
        public var seconds: Double
        /// Agreement with the validation split's non-tie labels (every `validateEvery` steps).
        public var validationAgreement: Double?
    }

    struct RunState: Codable {
        var config: ScorerTrainingConfig
        var loader: LoaderPosition
        var dataset: String
        var seconds: Double
    }

    public let scorer: PreferenceScorer
    public let dataset: PairDataset
    public let config: ScorerTrainingConfig
    public let runDirectory: URL
    /// The split measured every `config.validateEvery` steps (ties kept, same users as training).
    public var validation: PairDataset?
    /// Draws the hard-negative captions (saved in checkpoints, so a resumed run draws the same).
    var negativeRNG: RNG

    public init(scorer: PreferenceScorer, dataset: PairDataset, config: ScorerTrainingConfig, runDirectory: String) throws {
        try config.validate()
        guard scorer.config == config.model else {
            throw TrainingConfigError.invalid(flag: "--config", reason: "the scorer's architecture differs from the training config's model; build the scorer from config.model")
        }
        guard dataset.resolution == scorer.resolution else {
            throw TrainingConfigError.invalid(flag: "--data", reason: "the dataset is read at \(dataset.resolution)×\(dataset.resolution) but the scorer's image_size is \(scorer.resolution)")
        }
        self.scorer = scorer
        self.dataset = dataset
        self.config = config
        self.runDirectory = URL(fileURLWithPath: runDirectory)
        negativeRNG = RNG(seed: config.seed, stream: 0x4E45_47)  // "NEG"
    }

    var checkpointPath: String { runDirectory.appendingPathComponent("checkpoint").path }
    public var metricsPath: String { runDirectory.appendingPathComponent("metrics.jsonl").path }
    public var modelPath: String { runDirectory.appendingPathComponent("model").path }

    /// Trains to `config.steps` (resuming from a checkpoint when there is one), then writes `model/` with
    /// `card(last metrics, training seconds)` as its README. Returns false when interrupted (a checkpoint
    /// was saved first; run again to continue).
    @discardableResult
    public func run(card: (_ last: Metrics?, _ seconds: Double) -> String) throws -> Bool {
        scorer.setRequiresGrad(true)
        let named = scorer.namedParameters()
        let optimizer = AdamW(namedParameters: named, hyperparameters: .init(lr: config.learningRate, weightDecay: config.weightDecay))
        let ema = config.emaDecay > 0 ? EMA(module: scorer, configuration: .init(decay: config.emaDecay)) : nil
        let schedule = try LRSchedule(name: config.lrSchedule, baseLR: config.learningRate,
                                      warmupSteps: config.warmupSteps, totalSteps: config.steps)
        var step = 0
        var position = LoaderPosition.start
        var priorSeconds = 0.0
        var last: Metrics?
        if TrainingCheckpoint<RunState>.exists(at: checkpointPath) {
            let ckpt = try TrainingCheckpoint<RunState>.load(from: checkpointPath)
            guard ckpt.training.config.withoutSteps == config.withoutSteps else {
                throw TrainingConfigError.resumeMismatch("\(checkpointPath) was written with different settings; resume with the same flags (see \(runDirectory.path)/config.json) or use a new --out directory")
            }
            try ckpt.restore(model: scorer, optimizer: optimizer, ema: ema)
            step = ckpt.step
            position = ckpt.training.loader
            if let r = ckpt.rngs["negatives"] { negativeRNG = r }
            priorSeconds = ckpt.training.seconds
            try MetricsFile.truncate(metricsPath, after: step, as: Metrics.self)
            last = try? JSONLines.read(Metrics.self, from: metricsPath, allowTruncatedLastLine: true).last?.value
            print("resuming \(runDirectory.path) from step \(step)")
        } else {
            try AtomicFile.write(JSONFormat.pretty.encode(config), to: runDirectory.appendingPathComponent("config.json").path)
            try? FileManager.default.removeItem(atPath: metricsPath)
        }
        let loader = try PairLoader(dataset: dataset, batchSize: config.batchSize, seed: config.seed, flip: config.flip,
                                    position: position)
        let start = Date()
        func elapsed() -> Double { priorSeconds + Date().timeIntervalSince(start) }
        let save = { (at: Int) in
            try TrainingCheckpoint(step: at, model: self.scorer, optimizer: optimizer, ema: ema, rngs: ["negatives": self.negativeRNG],
                                   schedule: schedule,
                                   training: RunState(config: self.config, loader: loader.position, dataset: self.dataset.file,
                                                      seconds: elapsed()))
                .save(to: self.checkpointPath)
        }
        let interrupt = InterruptFlag.shared
        var progress = ProgressLine(total: config.steps, label: "scorer", startStep: step)
        let params = named.map(\.1)
        while step < config.steps {
            if interrupt.isRaised {
                try save(step)
                print("saved \(checkpointPath) at step \(step); run the same command again to resume")
                return false
            }
            let batch = try loader.next()
            let (first, second, pairLoss, captionLoss) = try forward(batch)
            let loss = captionLoss.map { pairLoss + $0 * Float(config.captionLossWeight) } ?? pairLoss
            optimizer.zeroGrad()
            loss.backward()
            let norm = clipGradNorm(params, maxNorm: Float(config.maxGradNorm))
            let lossValue = Double(loss.item())
            guard lossValue.isFinite, norm.isFinite else {
                throw TrainingConfigError.invalid(flag: "--lr", reason: "training diverged at step \(step + 1) (loss \(lossValue), gradient norm \(norm)); lower the learning rate or raise --warmup")
            }
            optimizer.lr = schedule.lr(at: step)
            optimizer.step()
            scorer.clampLogitScale()
            try ema?.update(from: scorer)
            step += 1

            var m = Metrics(step: step, loss: lossValue, pairLoss: Double(pairLoss.item()), captionLoss: captionLoss.map { Double($0.item()) },
                            accuracy: Self.batchAccuracy(first.toArray(), second.toArray(), isTie: batch.isTie),
                            scale: Double(Foundation.exp(scorer.logitScale.item())), lr: optimizer.lr, gradNorm: Double(norm),
                            seconds: elapsed())
            if let validation, config.validateEvery > 0, step % config.validateEvery == 0 || step == config.steps {
                m.validationAgreement = try ScorerAgreement.nonTieAgreement(
                    AgreementEvaluation.score(validation, scorer: scorer, userWeights: nil).learned)
            }
            try JSONLines.append(m, to: metricsPath)
            last = m
            var shown: [(String, Double)] = [("pair", m.pairLoss)]
            if let c = m.captionLoss { shown.append(("caption", c)) }
            if let a = m.accuracy { shown.append(("acc", a)) }
            if let v = m.validationAgreement { shown.append(("val", v)) }
            shown += [("scale", m.scale), ("lr", m.lr)]
            progress.update(step: step, values: shown, force: m.validationAgreement != nil)
            if step % config.checkpointEvery == 0 || step == config.steps { try save(step) }
        }
        let text = card(last, last?.seconds ?? elapsed())
        if let ema {
            try ema.withAveragedWeights(in: scorer) { try scorer.save(to: modelPath, card: text) }
        } else {
            try scorer.save(to: modelPath, card: text)
        }
        return true
    }

    /// Scores of a batch (winner first; mirrored pairs get mirrored prompts and captions), the PickScore
    /// loss, and the caption contrastive loss when it is on and every image of the batch has a caption.
    /// Prompts and captions go through the text tower together, the 2B images through the image tower once.
    func forward(_ batch: PairBatch) throws -> (first: Tensor, second: Tensor, pairLoss: Tensor, captionLoss: Tensor?) {
        func mirrored(_ texts: [String]) -> [String] { zip(texts, batch.flipped).map { $1 ? MirroredPrompt.of($0) : $0 } }
        let b = batch.size
        let prompts = mirrored(batch.prompts)
        var captions: [String]?
        let w = batch.winnerCaptions.compactMap { $0 }, l = batch.loserCaptions.compactMap { $0 }
        if config.captionLossWeight > 0 && w.count == b && l.count == b { captions = mirrored(w) + mirrored(l) }
        let images = try scorer.imageEmbeddings(concat([Tensor(shape: batch.imageShape, data: batch.winners),
                                                        Tensor(shape: batch.imageShape, data: batch.losers)], axis: 0))
        let texts = try scorer.textEmbeddings(prompts + (captions ?? []))
        let parts = captions == nil ? [texts] : split(texts, sizes: [b, 2 * b], axis: 0)
        let scores = split(scorer.scores(imageEmbeddings: images, textEmbeddings: concat([parts[0], parts[0]], axis: 0)),
                           sizes: [b, b], axis: 0)
        let pairLoss = try PreferencePairLoss.loss(first: scores[0], second: scores[1], isTie: batch.isTie,
                                                   examplesPerPrompt: batch.examplesPerPrompt)
        var captionLoss: Tensor?
        if let captions {
            var negativeTexts: [String] = []
            if config.hardNegatives > 0 {
                for c in captions {
                    guard let n = HardNegativeCaptions.oneAttributeOff(c, count: config.hardNegatives, rng: &negativeRNG) else {
                        negativeTexts = []
                        break
                    }
                    negativeTexts += n
                }
            }
            let negatives = negativeTexts.isEmpty ? nil : try scorer.textEmbeddings(negativeTexts)
            captionLoss = try CaptionContrastiveLoss.loss(images: images, captions: parts[1], texts: captions, negatives: negatives,
                                                          negativeTexts: negativeTexts, scale: Float(config.captionLogitScale))
        }
        return (scores[0], scores[1], pairLoss, captionLoss)
    }

    static func batchAccuracy(_ first: [Float], _ second: [Float], isTie: [Bool]) -> Double? {
        ScorerAgreement.nonTieAgreement(first.indices.map { ScoredPair(first: Double(first[$0]), second: Double(second[$0]), isTie: isTie[$0]) })
    }
}
