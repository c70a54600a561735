import Autograd
import Diffusion
import Kernels
import NN
import Preference

/// One workload of ../shared/bench/bench.py, built on the code paths users run (TextToImageModel, the U-Net,
/// the noise schedule, DiffusionDPOLoss, DDIM sampling through `generate`, AdamW, clipGradNorm): setup
/// happens in `init`, and `step()` is one timed iteration, doing what bench.py's `step()` does.
protocol ModelWorkload: AnyObject {
    var model: TextToImageModel { get }
    /// One iteration of the workload.
    func step() throws
    /// Losses of the training steps so far (empty for inference workloads).
    var losses: [Float] { get }
}

extension ModelWorkload {
    var losses: [Float] { [] }
}

/// The inputs every workload shares with bench.py: the model seeded like `torch.manual_seed(0)` (not the
/// same numbers: the RNGs differ), the prompt list of models.py cycled to the batch, and images ~ U(−1, 1).
enum WorkloadInputs {
    /// models.py PROMPTS.
    static let prompts = [
        "a large red circle at the top left on a blue background",
        "a green triangle on a black background",
        "a small purple square at the bottom right on a yellow background",
        "a white circle in the center on a orange background",
        "a large orange triangle at the bottom right on a purple background",
        "a blue square on a white background",
        "a small yellow circle at the top right on a green background",
        "a black triangle at the bottom left on a red background",
    ]

    /// bench.py `prompts(n)`.
    static func prompts(_ n: Int) -> [String] { (0..<n).map { prompts[$0 % prompts.count] } }

    /// bench.py `img(n)`: torch.rand(n, 3, r, r) * 2 − 1.
    static func images(_ n: Int, resolution r: Int, rng: inout RNG) -> Tensor {
        Tensor.rand([n, 3, r, r], rng: &rng, low: -1, high: 1)
    }

    static func model(variant: String) throws -> TextToImageModel {
        try TextToImageModel(preset: variant, seed: 0)
    }

    /// One uniform timestep in 0..<T per row (torch.randint(0, 1000, (n,))).
    static func timesteps(_ n: Int, below t: Int, rng: inout RNG) -> [Int] {
        (0..<n).map { _ in rng.nextInt(below: t) }
    }
}

/// `fwd`: U-Net forward on B rows without a graph, with a fixed text context, x and t.
final class ForwardWorkload: ModelWorkload {
    let model: TextToImageModel
    private let x: Tensor, timesteps: [Float], context: Tensor

    init(variant: String, batch: Int) throws {
        let model = try WorkloadInputs.model(variant: variant)
        self.model = model
        var rng = RNG(seed: 0, stream: 1)
        let tokens = model.tokenizer.encode(WorkloadInputs.prompts(batch))
        context = try GradMode.withoutGrad { try model.textEncoder(tokens) }
        x = WorkloadInputs.images(batch, resolution: model.resolution, rng: &rng)
        timesteps = WorkloadInputs.timesteps(batch, below: model.schedule.trainTimesteps, rng: &rng).map(Float.init)
    }

    func step() throws {
        _ = try GradMode.withoutGrad { try model.predictNoise(x, timesteps: timesteps, context: context) }
    }
}

/// `text`: the text encoder's last_hidden_state for B tokenized prompts, without a graph.
final class TextWorkload: ModelWorkload {
    let model: TextToImageModel
    private let tokens: TokenBatch

    init(variant: String, batch: Int) throws {
        model = try WorkloadInputs.model(variant: variant)
        tokens = model.tokenizer.encode(WorkloadInputs.prompts(batch))
    }

    func step() throws {
        _ = try GradMode.withoutGrad { try model.textEncoder(tokens) }
    }
}

/// `sft`: one denoising training step on B images as `Pretrainer` does it, with the text encoder trained
/// jointly: encode, fresh ε and t, x_t, ε̂, mean MSE, backward, clip to 1.0, AdamW (lr 1e-4, wd 1e-2).
final class SFTWorkload: ModelWorkload {
    let model: TextToImageModel
    let optimizer: AdamW
    private let parameters: [Tensor]
    private let tokens: TokenBatch
    private let x0: Tensor
    private var noiseRNG = RNG(seed: 0, stream: 2), timestepRNG = RNG(seed: 0, stream: 3)
    private(set) var losses: [Float] = []

    init(variant: String, batch: Int) throws {
        model = try WorkloadInputs.model(variant: variant)
        model.setRequiresGrad(true)
        let trainable = model.namedParameters()
        optimizer = AdamW(namedParameters: trainable, hyperparameters: .init(lr: 1e-4, weightDecay: 1e-2))
        parameters = trainable.map(\.1)
        tokens = model.tokenizer.encode(WorkloadInputs.prompts(batch))
        var rng = RNG(seed: 0, stream: 1)
        x0 = WorkloadInputs.images(batch, resolution: model.resolution, rng: &rng)
    }

    func step() throws {
        let context = try model.textEncoder(tokens)
        let noise = Tensor.randn(x0.shape, rng: &noiseRNG)
        let t = WorkloadInputs.timesteps(x0.shape[0], below: model.schedule.trainTimesteps, rng: &timestepRNG)
        let xt = try model.schedule.addNoise(x0: x0, noise: noise, timesteps: t)
        let prediction = try model.predictNoise(xt, timesteps: t.map(Float.init), context: context)
        let loss = mean(mseLossPerSample(prediction: prediction, target: noise))
        optimizer.zeroGrad()
        loss.backward()
        clipGradNorm(parameters, maxNorm: 1)
        optimizer.step()
        losses.append(loss.item())
    }
}

/// `dpo`: one Diffusion-DPO step on P = B/2 pairs as `PreferenceTrainer` does it: winners in rows 0..<P,
/// losers in P..<2P; one ε and one t per pair shared by its two images; the frozen text encoder's context
/// (encoded for the P prompts, repeated for the losers, as bench.py); the frozen reference U-Net (same
/// initial weights) on the same x_t without a graph; DiffusionDPOLoss with β (5000, with the −0.5 factor);
/// backward, clip to 1.0, AdamW (lr 1e-5, wd 1e-2) on the U-Net.
final class DPOWorkload: ModelWorkload {
    let model: TextToImageModel
    let reference: UNet2DConditionModel
    let optimizer: AdamW
    let beta: Float
    private let parameters: [Tensor]
    private let tokens: TokenBatch
    private let x0: Tensor
    private let pairs: Int
    private var noiseRNG = RNG(seed: 0, stream: 2), timestepRNG = RNG(seed: 0, stream: 3)
    private(set) var losses: [Float] = []

    init(variant: String, batch: Int, beta: Float) throws {
        model = try WorkloadInputs.model(variant: variant)
        model.textEncoder.setRequiresGrad(false)
        model.unet.setRequiresGrad(true)
        var unused = RNG(seed: 0)
        reference = try UNet2DConditionModel(config: model.unet.config, rng: &unused)
        try reference.copyParameters(from: model.unet)
        reference.setRequiresGrad(false)
        let trainable = model.unet.namedParameters()
        optimizer = AdamW(namedParameters: trainable, hyperparameters: .init(lr: 1e-5, weightDecay: 1e-2))
        parameters = trainable.map(\.1)
        self.beta = beta
        pairs = batch / 2
        tokens = model.tokenizer.encode(WorkloadInputs.prompts(pairs))
        var rng = RNG(seed: 0, stream: 1)
        x0 = WorkloadInputs.images(2 * pairs, resolution: model.resolution, rng: &rng)
    }

    func step() throws {
        let p = pairs, r = model.resolution
        let text = try GradMode.withoutGrad { try model.textEncoder(tokens) }
        let context = concat([text, text], axis: 0)
        let pairNoise = Tensor.randn([p, 3, r, r], rng: &noiseRNG)
        let noise = concat([pairNoise, pairNoise], axis: 0)
        let pairT = WorkloadInputs.timesteps(p, below: model.schedule.trainTimesteps, rng: &timestepRNG)
        let t = pairT + pairT
        let xt = try model.schedule.addNoise(x0: x0, noise: noise, timesteps: t)
        let tf = t.map(Float.init)

        // The reference first (as PreferenceTrainer): its activations are gone before the policy's graph is built.
        let referenceLosses = try GradMode.withoutGrad {
            mseLossPerSample(prediction: try reference(xt, timesteps: tf, context: context), target: noise).toArray()
        }
        let policy = split(mseLossPerSample(prediction: try model.unet(xt, timesteps: tf, context: context), target: noise),
                           sizes: [p, p], axis: 0)
        let out = DiffusionDPOLoss.loss(policyWin: policy[0], policyLose: policy[1],
                                        referenceWin: Array(referenceLosses[0..<p]),
                                        referenceLose: Array(referenceLosses[p..<(2 * p)]), beta: beta)
        optimizer.zeroGrad()
        out.loss.backward()
        clipGradNorm(parameters, maxNorm: 1)
        optimizer.step()
        losses.append(out.loss.item())
    }
}

/// `ddim`: N = B/2 images with `steps` DDIM steps and classifier-free guidance through
/// `TextToImageModel.generate` (what `t2ialign sample` runs): 2N U-Net rows per step, unconditional first.
/// Each iteration draws fresh initial noise, as bench.py's torch.randn does.
final class DDIMWorkload: ModelWorkload {
    let model: TextToImageModel
    let options: GenerationOptions
    private let prompts: [String]
    private var iteration: UInt64 = 0
    /// The images of the last iteration (kept so tests can check what was made).
    private(set) var lastImageCount = 0

    init(variant: String, batch: Int, steps: Int, guidance: Float) throws {
        model = try WorkloadInputs.model(variant: variant)
        let n = batch / 2
        prompts = WorkloadInputs.prompts(n)
        // One network call for all rows, like the baseline's single batch.
        options = GenerationOptions(sampler: .ddim, steps: steps, guidance: guidance, eta: 0, batchSize: n)
    }

    func step() throws {
        let generators = Sampling.generators(seed: iteration, rows: prompts.count)
        iteration += 1
        lastImageCount = try model.generate(prompts: prompts, generators: generators, options: options).count
    }
}
