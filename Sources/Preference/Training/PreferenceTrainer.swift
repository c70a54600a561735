import Autograd
import Datasets
import Diffusion
import Files
import Foundation
import Kernels
import NN

/// Fine-tunes a pretrained text-to-image model on preference pairs with Diffusion-DPO, MaPO, DCPO, SFT or
/// personalized DPO.
///
/// Per micro-batch of B pairs (winner first): one ε and one t per pair, shared by its two images;
/// x_t = √ᾱ_t·x_0 + √(1−ᾱ_t)·ε for the 2B images; per-image losses L = mean over C·H·W of (ε̂ − ε)²;
/// then the objective's loss. DPO and DCPO also run a frozen reference U-Net on exactly the same x_t, t and
/// conditioning, without building a graph; MaPO and SFT keep no reference at all. The text encoder is frozen.
///
/// Personalized DPO (`config.personalization`): each pair's user embedding u comes from K other pairs of the
/// same user (the K most informative, K drawn from the "users" stream, or all: `UserSupportSelection`), through the frozen user model (MAP
/// weights, whitened: `UserPrior`); a trained `UserProjection`
/// turns u (zeroed with probability p_udrop) into M tokens after the text tokens of the trained network only,
/// read by their own decoupled cross-attention branches (or the text's, `appended`) — the reference sees the
/// text alone. The projection is checkpointed with the U-Net and
/// saved into the model folder (user_projection/, plus the encoder as user_encoder/).
///
/// The run directory is laid out as in pretraining (config.json, metrics.jsonl, checkpoint/, model/) plus
/// curves.png; a run started in a directory holding a checkpoint resumes exactly.
public final class PreferenceTrainer {
    public struct Metrics: StepMetrics, Sendable {
        public var step: Int
        public var loss: Double
        public var lr: Double
        public var gradNorm: Double
        public var seconds: Double
        /// Mean per-image losses of the trained network on winners and losers.
        public var policyWin: Double
        public var policyLose: Double?
        /// DPO/DCPO: the reference's, and the implicit accuracy (share of pairs with inside > 0).
        public var referenceWin: Double?
        public var referenceLose: Double?
        public var implicitAccuracy: Double?
        /// MaPO: mean f(Lw), mean f(Ll), −β·mean(log σ(T·log_odds)).
        public var winScore: Double?
        public var loseScore: Double?
        public var marginLoss: Double?
    }

    struct RunState: Codable {
        var config: PreferenceTrainingConfig
        var loader: LoaderPosition
        var dataset: String
    }

    public let model: TextToImageModel
    public let dataset: PairDataset
    public let config: PreferenceTrainingConfig
    public let runDirectory: URL
    /// The frozen reference U-Net (DPO/DCPO only).
    public let reference: UNet2DConditionModel?
    let captionSource: CaptionSource
    /// Personalized DPO: the frozen user model, the trained projection, the dataset's pairs by user and the
    /// user model's features of every support candidate (the model is frozen, so computed once), with each
    /// user's candidates in informative order.
    public let userEncoder: UserEncoder?
    public let userProjection: UserProjection?
    public let userIndex: UserPairIndex?
    let userPrior: UserPrior?
    let supportFeatures: [Int: UserPairFeature]
    let informativeSupport: [Int: [Int]]
    /// The pairs trained on when `tasteMargin` > 0 restricts them (nil: every pair of the dataset).
    public let tastePairs: [Int]?
    /// K for personalized runs.
    var shots: Int { config.personalization.flatMap(\.shots) ?? userEncoder?.config.shots ?? 0 }

    public init(model: TextToImageModel, dataset: PairDataset, config: PreferenceTrainingConfig, runDirectory: String) throws {
        try config.validate()
        let config = config.resolved
        guard dataset.resolution == model.resolution else {
            throw PreferenceTrainingError.data("the dataset is read at \(dataset.resolution)×\(dataset.resolution) but the model's sample_size is \(model.resolution)")
        }
        self.model = model
        self.dataset = dataset
        self.config = config
        self.runDirectory = URL(fileURLWithPath: runDirectory)
        self.captionSource = CaptionSource(name: config.captions) ?? .dataset
        if config.objective.needsReference {
            var rng = RNG(seed: 0)
            let ref = try UNet2DConditionModel(config: model.unet.config, rng: &rng)
            try ref.copyParameters(from: model.unet)
            ref.setRequiresGrad(false)
            reference = ref
        } else {
            reference = nil
        }
        if let settings = config.personalization {
            let encoder = try UserEncoder.load(from: settings.userEncoder)
            encoder.setRequiresGrad(false)
            let k = settings.shots ?? encoder.config.shots
            // Made after the reference was copied, so only the trained network reads the user tokens.
            let projection = try UserProjection.forUNet(model.unet, embeddingDim: encoder.config.embeddingDim,
                                                        numTokens: settings.tokens, shots: k, userDropout: settings.userDropout,
                                                        injection: settings.injection)
            try projection.attach(to: model)
            let index = try UserPairIndex(dataset: dataset)
            // Every pair needs K other labelled pairs of its user.
            let candidates = try index.users.flatMap { user in
                try index.supportPairs(of: user, need: k + 1, hint: "each pair's embedding comes from K = \(k) other pairs of its user; leave the user out with --users or lower --user-shots")
            }.sorted()
            let features = try UserPairFeatures.compute(dataset: dataset, pairs: candidates, encoder: encoder)
            let prior = try encoder.prior()
            let byPair = Dictionary(uniqueKeysWithValues: zip(candidates, features))
            userEncoder = encoder
            userProjection = projection
            userIndex = index
            userPrior = prior
            supportFeatures = byPair
            let pairsByUser = try Dictionary(uniqueKeysWithValues: index.users.map { ($0, try index.supportPairs(of: $0, need: 0)) })
            informativeSupport = pairsByUser.mapValues { pairs in prior.informativeOrder(pairs.map { byPair[$0]! }).map { pairs[$0] } }
            tastePairs = settings.tasteMargin > 0
                ? try Self.tastePairs(pairsByUser: pairsByUser, features: byPair, prior: prior, margin: settings.tasteMargin) : nil
        } else {
            userEncoder = nil
            userProjection = nil
            userIndex = nil
            userPrior = nil
            supportFeatures = [:]
            informativeSupport = [:]
            tastePairs = nil
        }
    }

    /// Each user's pairs whose predicted preference under the user's own weights (MAP from all their pairs)
    /// differs from the average user's (μ) by at least `margin` in probability: the pairs where who labels
    /// them matters, so the user-conditioned part of the model gets a gradient from every pair of a batch.
    static func tastePairs(pairsByUser: [Int: [Int]], features: [Int: UserPairFeature], prior: UserPrior, margin: Double) throws -> [Int] {
        var kept: [Int] = []
        for pairs in pairsByUser.values {
            let own = prior.mapEstimate(pairs.compactMap { features[$0] })
            kept += pairs.filter { p in
                guard let f = features[p] else { return false }
                return abs(prior.probability(f, weights: own) - prior.probability(f, weights: prior.mean)) >= margin
            }
        }
        guard !kept.isEmpty else {
            throw PreferenceTrainingError.data("no pair's predicted preference moves by \(margin) between its user and the average user; lower --user-taste-pairs")
        }
        return kept.sorted()
    }

    var checkpointPath: String { runDirectory.appendingPathComponent("checkpoint").path }
    var metricsPath: String { runDirectory.appendingPathComponent("metrics.jsonl").path }
    public var modelPath: String { runDirectory.appendingPathComponent("model").path }
    public var curvesPath: String { runDirectory.appendingPathComponent("curves.png").path }

    /// Trains to `config.steps`, resuming from a checkpoint when there is one, then writes `model/` and
    /// `curves.png`. Returns false when interrupted (a checkpoint was saved first).
    @discardableResult
    public func run(card: (_ last: Metrics?, _ seconds: Double) -> String) throws -> Bool {
        model.textEncoder.setRequiresGrad(false)
        model.unet.setRequiresGrad(true)
        model.unet.gradientCheckpointing = config.gradientCheckpointing ?? false
        userProjection?.setRequiresGrad(true)
        // What is trained and checkpointed: the U-Net (its own names), plus user_projection.weight.
        let parts: any Module = userProjection.map { TrainedParts(unet: model.unet, projection: $0) } ?? model.unet
        let trainable = model.unet.namedParameters().map { (TextToImageModel.unetPrefix + $0.0, $0.1) }
        let optimizer = AdamW(namedParameters: trainable,
                              hyperparameters: .init(lr: config.learningRate, weightDecay: config.weightDecay))
        let projectionOptimizer = userProjection.map {
            AdamW(namedParameters: $0.namedParameters(prefix: TrainedParts.projectionPrefix),
                  hyperparameters: .init(lr: config.personalization?.projectionLearningRate ?? 0, weightDecay: config.weightDecay))
        }
        let ema = config.emaDecay > 0 ? EMA(module: parts, configuration: .init(decay: config.emaDecay)) : nil
        let schedule = try LRSchedule(name: config.lrSchedule, baseLR: config.learningRate,
                                      warmupSteps: config.warmupSteps, totalSteps: config.steps)
        var rngs: [String: RNG] = [
            "noise": RNG(seed: config.seed, stream: 11), "timesteps": RNG(seed: config.seed, stream: 12),
            "dropout": RNG(seed: config.seed, stream: 13), "captions": RNG(seed: config.seed, stream: 14),
        ]
        if config.personalization != nil {
            rngs["users"] = RNG(seed: config.seed, stream: 15)
            rngs["user_dropout"] = RNG(seed: config.seed, stream: 16)
        }
        var step = 0
        var position = LoaderPosition.start
        if TrainingCheckpoint<RunState>.exists(at: checkpointPath) {
            let ckpt = try TrainingCheckpoint<RunState>.load(from: checkpointPath)
            guard config.resumes(ckpt.training.config) else {
                throw PreferenceTrainingError.resumeMismatch("\(checkpointPath) was written with different settings; resume with the same flags (see \(runDirectory.path)/config.json) or choose a new --out")
            }
            try ckpt.restore(model: parts, optimizer: nil, ema: ema)
            let states = TrainedParts.splitOptimizerState(ckpt.optimizer)
            try optimizer.load(state: Self.prefixed(states.unet), source: checkpointPath)
            if let projectionOptimizer {
                try projectionOptimizer.load(state: states.projection, source: checkpointPath)
            }
            rngs = ckpt.rngs
            step = ckpt.step
            position = ckpt.training.loader
            try MetricsFile.truncate(metricsPath, after: step, as: Metrics.self)
            print("resuming \(runDirectory.path) from step \(step)")
        } else {
            try AtomicFile.write(JSONFormat.pretty.encode(config), to: runDirectory.appendingPathComponent("config.json").path)
            try? FileManager.default.removeItem(atPath: metricsPath)
        }
        let loader = try PairLoader(dataset: dataset, batchSize: config.batchSize, seed: config.seed,
                                    flip: config.flip, position: position, pool: tastePairs)

        let save = { (at: Int) in
            var optimizerState = Self.unprefixed(optimizer.state())
            if let p = projectionOptimizer?.state() { TrainedParts.merge(p, into: &optimizerState) }
            try TrainingCheckpoint(step: at, model: parts.stateDict().mapValues { $0.copy() },
                                   optimizer: optimizerState, ema: ema?.state(), rngs: rngs,
                                   schedule: schedule,
                                   training: RunState(config: self.config, loader: loader.position, dataset: self.dataset.file))
                .save(to: self.checkpointPath)
        }
        let interrupt = InterruptFlag.shared
        var progress = ProgressLine(total: config.steps, label: config.objective.rawValue, startStep: step)
        let start = Date()
        var last: Metrics?
        let params = trainable.map(\.1) + (userProjection?.parameters() ?? [])
        while step < config.steps {
            if interrupt.isRaised {
                try save(step)
                print("saved \(checkpointPath) at step \(step); run the same command again to resume")
                return false
            }
            optimizer.zeroGrad()
            projectionOptimizer?.zeroGrad()
            var sums = MetricSums()
            for _ in 0..<config.gradientAccumulation {
                let batch = try loader.next()
                try microStep(batch, rngs: &rngs, sums: &sums)
            }
            let norm = clipGradNorm(params, maxNorm: Float(config.maxGradNorm))
            optimizer.lr = schedule.lr(at: step)
            optimizer.step()
            if let projectionOptimizer, let settings = config.personalization {
                projectionOptimizer.lr = settings.projectionLearningRate * schedule.multiplier(at: step)
                projectionOptimizer.step()
            }
            try ema?.update(from: parts)
            step += 1

            let m = sums.metrics(step: step, lr: optimizer.lr, gradNorm: Double(norm), seconds: Date().timeIntervalSince(start))
            guard m.loss.isFinite else { throw PreferenceTrainingError.diverged(step: step, loss: m.loss) }
            try JSONLines.append(m, to: metricsPath)
            last = m
            var shown: [(String, Double)] = [("loss", m.loss)]
            if let a = m.implicitAccuracy { shown.append(("acc", a)) }
            if let margin = m.marginLoss { shown.append(("margin", margin)) }
            shown.append(("Lw", m.policyWin))
            if let l = m.policyLose { shown.append(("Ll", l)) }
            shown.append(("lr", m.lr))
            progress.update(step: step, values: shown)
            if step % config.checkpointEvery == 0 || step == config.steps { try save(step) }
        }
        let text = card(last, Date().timeIntervalSince(start))
        let saveModel = {
            try self.model.save(to: self.modelPath, card: text)
            if let encoder = self.userEncoder, let projection = self.userProjection {
                try PersonalizedModelParts(encoder: encoder, projection: projection).save(to: self.modelPath)
            }
        }
        if let ema {
            try ema.withAveragedWeights(in: parts) { try saveModel() }
        } else {
            try saveModel()
        }
        try TrainingCurves.write(metricsPath: metricsPath, objective: config.objective, to: curvesPath)
        return true
    }

    /// Forward and backward of one micro-batch; the loss is scaled by 1/accumulation.
    func microStep(_ batch: PairBatch, rngs: inout [String: RNG], sums: inout MetricSums) throws {
        let b = batch.size, r = batch.resolution
        let objective = config.objective
        // Conditioning: the pair's prompt for both images, or (DCPO) one caption per image; dropped to "" per pair.
        var winText = batch.prompts, loseText = batch.prompts
        if objective == .dcpo {
            for i in 0..<b {
                (winText[i], loseText[i]) = try captionSource.captions(
                    prompt: batch.prompts[i], winnerCaption: batch.winnerCaptions[i], loserCaption: batch.loserCaptions[i],
                    line: batch.lines[i], rng: &rngs["captions"]!)
            }
        }
        for i in 0..<b where rngs["dropout"]!.nextBool(probability: config.effectivePromptDropout) {
            winText[i] = ""; loseText[i] = ""
        }
        let rows = objective.usesLosers ? 2 * b : b
        let context = try GradMode.withoutGrad { try model.encode(objective.usesLosers ? winText + loseText : winText) }
        // Personalized: the trained network also sees the pair's user tokens (both images); the reference does not.
        let policyContext = try userTokens(batch, rngs: &rngs).map {
            try UNet2DConditionModel.appendingTokens(concat([$0, $0], axis: 0), to: context)
        } ?? context

        // One ε and one t per pair, shared by its two images.
        let pairNoise = Tensor.randn([b, 3, r, r], rng: &rngs["noise"]!)
        let pairT = (0..<b).map { _ in rngs["timesteps"]!.nextInt(below: model.schedule.trainTimesteps) }
        let noise = objective.usesLosers ? concat([pairNoise, pairNoise], axis: 0) : pairNoise
        let t = objective.usesLosers ? pairT + pairT : pairT
        let images = objective.usesLosers ? batch.winners + batch.losers : batch.winners
        let x0 = Tensor(shape: [rows, 3, r, r], data: images)
        let xt = try model.schedule.addNoise(x0: x0, noise: noise, timesteps: t)
        let target = try model.schedule.trainingTarget(x0: x0, noise: noise, timesteps: t)  // ε, or v
        let tf = t.map(Float.init)

        // DPO/DCPO: the frozen reference runs first, so its activations are freed before the trained network's
        // graph exists (the same numbers as running it after, as the reference script does, at a lower peak).
        let refLosses = try reference.map { reference in
            try GradMode.withoutGrad {
                mseLossPerSample(prediction: try reference(xt, timesteps: tf, context: context), target: target).toArray()
            }
        }
        let prediction = try model.unet(xt, timesteps: tf, context: policyContext)
        let losses = mseLossPerSample(prediction: prediction, target: target)
        let scale = 1 / Float(config.gradientAccumulation)
        let beta = Float(config.effectiveBeta ?? 0)  // read by MaPO and DPO/DCPO, which always have one

        switch objective {
        case .sft:
            let loss = mean(losses)
            (loss * scale).backward()
            sums.add(loss: Double(loss.item()), win: losses.toArray(), lose: [])
        case .mapo:
            let parts = split(losses, sizes: [b, b], axis: 0)
            let out = MaPOLoss.loss(win: parts[0], lose: parts[1], beta: beta)
            (out.loss * scale).backward()
            sums.add(loss: Double(out.loss.item()), win: parts[0].toArray(), lose: parts[1].toArray())
            sums.addMaPO(win: out.winScore, lose: out.loseScore, margin: out.marginLoss)
        case .dpo, .dcpo:
            guard let refLosses else { preconditionFailure("DPO without a reference network") }
            let parts = split(losses, sizes: [b, b], axis: 0)
            let out = DiffusionDPOLoss.loss(policyWin: parts[0], policyLose: parts[1],
                                            referenceWin: Array(refLosses[0..<b]), referenceLose: Array(refLosses[b..<(2 * b)]),
                                            beta: beta)
            (out.loss * scale).backward()
            sums.add(loss: Double(out.loss.item()), win: parts[0].toArray(), lose: parts[1].toArray())
            sums.addDPO(refWin: Array(refLosses[0..<b]), refLose: Array(refLosses[b..<(2 * b)]), inside: out.inside)
        }
    }

    /// Personalized DPO: [B, M, D] user tokens, pair i's from other pairs of its user (nil otherwise).
    func userTokens(_ batch: PairBatch, rngs: inout [String: RNG]) throws -> Tensor? {
        guard let settings = config.personalization, let projection = userProjection, let index = userIndex,
              let prior = userPrior else { return nil }
        let k = shots, e = projection.config.embeddingDim
        var embeddings: [Float] = []
        embeddings.reserveCapacity(batch.size * e)
        for i in 0..<batch.size {
            let user = batch.userIDs[i], own = batch.pairIndices[i]
            let others = (informativeSupport[user] ?? []).lazy.filter { $0 != own }
            let support: [Int]
            switch settings.support {
            case .informative: support = Array(others.prefix(k))
            case .all: support = Array(others)
            case .random:
                support = try index.drawSupport(user: user, shots: k, excluding: own, rng: &rngs["users", default: RNG(seed: config.seed, stream: 15)])
            }
            let features = try support.map { p -> UserPairFeature in
                guard let f = supportFeatures[p] else {
                    throw PreferenceTrainingError.data("internal: no user-model features for pair \(p) of \(dataset.file)")
                }
                return f
            }
            embeddings += prior.embedding(weights: prior.mapEstimate(features))
        }
        let dropped = UserProjection.dropMask(count: batch.size, probability: settings.userDropout,
                                              rng: &rngs["user_dropout", default: RNG(seed: config.seed, stream: 16)])
        return try projection.tokens(Tensor(shape: [batch.size, e], data: embeddings), dropped: dropped)
    }

    /// The optimizer's parameter names carry the model's `unet.` prefix; checkpoints store the U-Net's own names.
    static func unprefixed(_ s: AdamW.State) -> AdamW.State {
        func strip<V>(_ d: [String: V]) -> [String: V] {
            Dictionary(uniqueKeysWithValues: d.map { (String($0.key.dropFirst(TextToImageModel.unetPrefix.count)), $0.value) })
        }
        return AdamW.State(hyperparameters: s.hyperparameters, steps: strip(s.steps), expAvg: strip(s.expAvg), expAvgSq: strip(s.expAvgSq))
    }

    static func prefixed(_ s: AdamW.State) -> AdamW.State {
        func add<V>(_ d: [String: V]) -> [String: V] {
            Dictionary(uniqueKeysWithValues: d.map { (TextToImageModel.unetPrefix + $0.key, $0.value) })
        }
        return AdamW.State(hyperparameters: s.hyperparameters, steps: add(s.steps), expAvg: add(s.expAvg), expAvgSq: add(s.expAvgSq))
    }
}

/// Running sums over the micro-batches of one optimizer step.
struct MetricSums {
    var loss = 0.0, micro = 0
    var win: [Float] = [], lose: [Float] = [], refWin: [Float] = [], refLose: [Float] = []
    var inside: [Double] = []
    var winScore = 0.0, loseScore = 0.0, margin = 0.0, mapoCount = 0

    mutating func add(loss: Double, win: [Float], lose: [Float]) {
        self.loss += loss; micro += 1
        self.win += win; self.lose += lose
    }
    mutating func addDPO(refWin: [Float], refLose: [Float], inside: [Double]) {
        self.refWin += refWin; self.refLose += refLose; self.inside += inside
    }
    mutating func addMaPO(win: Double, lose: Double, margin: Double) {
        winScore += win; loseScore += lose; self.margin += margin; mapoCount += 1
    }

    static func average(_ v: [Float]) -> Double { v.isEmpty ? .nan : v.reduce(0.0) { $0 + Double($1) } / Double(v.count) }

    func metrics(step: Int, lr: Double, gradNorm: Double, seconds: Double) -> PreferenceTrainer.Metrics {
        PreferenceTrainer.Metrics(
            step: step, loss: loss / Double(max(micro, 1)), lr: lr, gradNorm: gradNorm, seconds: seconds,
            policyWin: Self.average(win), policyLose: lose.isEmpty ? nil : Self.average(lose),
            referenceWin: refWin.isEmpty ? nil : Self.average(refWin),
            referenceLose: refLose.isEmpty ? nil : Self.average(refLose),
            implicitAccuracy: inside.isEmpty ? nil : Double(inside.filter { $0 > 0 }.count) / Double(inside.count),
            winScore: mapoCount > 0 ? winScore / Double(mapoCount) : nil,
            loseScore: mapoCount > 0 ? loseScore / Double(mapoCount) : nil,
            marginLoss: mapoCount > 0 ? margin / Double(mapoCount) : nil)
    }
}

/// The trained parameters of a personalized run as one module: the U-Net's own names plus
/// `user_projection.weight`, so one checkpoint and one EMA cover both.
final class TrainedParts: Module {
    static let projectionPrefix = "user_projection."
    let unet: UNet2DConditionModel
    let projection: UserProjection

    init(unet: UNet2DConditionModel, projection: UserProjection) {
        self.unet = unet
        self.projection = projection
    }

    var children: [(String, any Module)] { unet.children + [("user_projection", projection)] }

    /// A checkpoint's optimizer state split into the U-Net's entries and the projection's.
    static func splitOptimizerState(_ s: AdamW.State) -> (unet: AdamW.State, projection: AdamW.State) {
        func part<V>(_ d: [String: V], projection: Bool) -> [String: V] {
            d.filter { $0.key.hasPrefix(projectionPrefix) == projection }
        }
        return (AdamW.State(hyperparameters: s.hyperparameters, steps: part(s.steps, projection: false),
                            expAvg: part(s.expAvg, projection: false), expAvgSq: part(s.expAvgSq, projection: false)),
                AdamW.State(hyperparameters: s.hyperparameters, steps: part(s.steps, projection: true),
                            expAvg: part(s.expAvg, projection: true), expAvgSq: part(s.expAvgSq, projection: true)))
    }

    /// Adds the projection optimizer's entries (already named user_projection.*) to a checkpoint state.
    static func merge(_ p: AdamW.State, into s: inout AdamW.State) {
        s.steps.merge(p.steps) { a, _ in a }
        s.expAvg.merge(p.expAvg) { a, _ in a }
        s.expAvgSq.merge(p.expAvgSq) { a, _ in a }
    }
}
