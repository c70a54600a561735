import Kernels

/// What the denoiser is asked for at one step of `Sampling.sample`.
public struct DenoiserInput: Sendable {
    /// The noisy rows, row-major with `shape` = [rows, channels, height, width].
    public let sample: [Float]
    public let shape: [Int]
    public let timestep: Int
    /// The conditioning of the rows: with `.unconditionalThenConditional`, rows 0..<N take the empty prompt and
    /// rows N..<2N the N prompts, in sample order.
    public let batch: GuidanceBatch

    public init(sample: [Float], shape: [Int], timestep: Int, batch: GuidanceBatch) {
        self.sample = sample
        self.shape = shape
        self.timestep = timestep
        self.batch = batch
    }
}

/// The sampling loop, independent of the network: x_T from seeded noise, then one scheduler step per planned
/// timestep with the (guided) ε the denoiser predicts.
///
/// Noise is per row: row i draws its initial noise and its step noise (DDPM, or DDIM with η > 0) from
/// `generators[i]`, on two derived streams. So a row's image depends only on its generator, its prompt and the
/// model — not on which other rows share the batch — and two models sampled with the same generators start
/// from the same x_T and get the same step noise (what win-rate evaluation compares).
public enum Sampling {
    private static let initialNoiseStream: UInt64 = 0
    private static let stepNoiseStream: UInt64 = 1

    /// One generator per row for a batch seeded by `seed` (row i uses stream i).
    public static func generators(seed: UInt64, rows: Int) -> [RNG] {
        (0..<max(0, rows)).map { RNG(seed: seed, stream: UInt64($0)) }
    }

    /// x_T ~ N(0, I) for `shape` = [rows, …], row i from `generators[i]`: what `sample` starts from when it is
    /// given no `initialNoise`.
    public static func initialNoise(shape: [Int], generators: [RNG]) throws -> [Float] {
        let rowLength = try checkBatch(shape: shape, generators: generators)
        var initial = generators.map { $0.derived(stream: initialNoiseStream) }
        return rowNoise(&initial, rowLength: rowLength)
    }

    /// Samples a batch of `shape` = [rows, channels, height, width] with `steps` scheduler steps.
    ///
    /// - Parameters:
    ///   - initialNoise: x_T to start from (the sample's size); drawn from `generators` when nil.
    ///   - generators: one per row (see `generators(seed:rows:)`).
    ///   - progress: called after each step with (steps done, steps in total).
    ///   - denoise: returns ε for every row of its input (the input's size), given the rows' conditioning.
    /// - Returns: x_0, row-major with `shape`.
    public static func sample<S: DiffusionScheduler>(
        scheduler: S, shape: [Int], steps: Int, guidance: ClassifierFreeGuidance, generators: [RNG],
        initialNoise: [Float]? = nil, progress: ((_ done: Int, _ total: Int) -> Void)? = nil,
        denoise: (DenoiserInput) throws -> [Float]
    ) throws -> [Float] {
        let rowLength = try checkBatch(shape: shape, generators: generators)
        let rows = shape[0]
        var x = try initialNoise ?? Self.initialNoise(shape: shape, generators: generators)
        try SchedulerMath.checkCount(x, "initialNoise", expected: rows * rowLength)
        var scheduler = scheduler
        try scheduler.setTimesteps(steps)
        var stepGenerators = generators.map { $0.derived(stream: stepNoiseStream) }
        let batch = guidance.batch
        let inputShape = [rows * batch.rowsPerSample] + shape.dropFirst()

        for (k, t) in scheduler.timesteps.enumerated() {
            let input = DenoiserInput(sample: guidance.denoiserInput(x), shape: inputShape, timestep: t, batch: batch)
            let output = try denoise(input)
            try SchedulerMath.checkCount(output, "denoiser output", expected: input.sample.count)
            guard output.allSatisfy(\.isFinite) else { throw SchedulerError.nonFiniteDenoiserOutput(timestep: t) }
            let noise = scheduler.addsNoise(at: t) ? rowNoise(&stepGenerators, rowLength: rowLength) : nil
            x = try scheduler.step(modelOutput: guidance.combine(output, rowLength: rowLength), timestep: t, sample: x, varianceNoise: noise)
                .prevSample
            progress?(k + 1, scheduler.timesteps.count)
        }
        return x
    }

    /// Validates [rows, …] against one generator per row; returns the row length.
    private static func checkBatch(shape: [Int], generators: [RNG]) throws -> Int {
        guard shape.count >= 2, shape.allSatisfy({ $0 >= 1 }) else { throw SchedulerError.invalidShape(shape) }
        guard generators.count == shape[0] else {
            throw SchedulerError.invalidParameter(field: "generators", value: "\(generators.count) generators",
                                                  expected: "one per row (\(shape[0])); make them with Sampling.generators(seed:rows:)")
        }
        return shape.dropFirst().reduce(1, *)
    }

    /// `rowLength` standard normals from each generator in turn, advancing them.
    private static func rowNoise(_ generators: inout [RNG], rowLength: Int) -> [Float] {
        var out = [Float]()
        out.reserveCapacity(generators.count * rowLength)
        for i in generators.indices { out += generators[i].normal(count: rowLength) }
        return out
    }
}
