import Autograd
import Datasets
import Diffusion
import Foundation
import Kernels
import NN
import Preference
import Scoring
import XCTest

final class PersonalizationConditioningTests: XCTestCase {
    /// A projection with random weights (a trained one's stand-in; a new one starts at zero).
    private func projection(tokens: Int = 3) throws -> UserProjection {
        let p = try UserProjection(config: UserProjectionConfig(embeddingDim: 3, numTokens: tokens, crossAttentionDim: 16, shots: 2))
        XCTAssertEqual(p.weight.toArray(), [Float](repeating: 0, count: p.weight.count), "zero-initialised: every user starts as no user")
        var rng = RNG(seed: 6)
        for i in 0..<p.weight.count { p.weight.data[i] = rng.nextNormal() * 0.3 }
        return p
    }

    private func parts() throws -> PersonalizedModelParts {
        try PersonalizedModelParts(encoder: PersonalizationWorld.encoder(), projection: projection())
    }

    func testProjectionShapesAndDropoutZeroesTokens() throws {
        let p = try projection()
        var rng = RNG(seed: 1)
        let u = Tensor.randn([2, 3], rng: &rng)
        let tokens = try p.tokens(u)
        XCTAssertEqual(tokens.shape, [2, 3, 16])
        let dropped = try p.tokens(u, dropped: [true, false])
        let per = 3 * 16
        XCTAssertEqual(Array(dropped.toArray()[0..<per]), [Float](repeating: 0, count: per), "a dropped user gives all-zero tokens")
        XCTAssertEqual(Array(dropped.toArray()[per...]), Array(tokens.toArray()[per...]), "other rows keep their tokens")
        XCTAssertEqual(try p.tokens(Tensor(zeros: [1, 3])).toArray(), [Float](repeating: 0, count: per), "u = 0 means no user")
        // Gradients reach the projection through kept rows only.
        let loss = sum(try p.tokens(u, dropped: [true, false]))
        loss.backward()
        XCTAssertNotNil(p.weight.grad)
        // The mask's rate follows p_udrop.
        var r = RNG(seed: 2)
        XCTAssertFalse(UserProjection.dropMask(count: 50, probability: 0, rng: &r).contains(true))
        XCTAssertFalse(UserProjection.dropMask(count: 50, probability: 1, rng: &r).contains(false))
        let mask = UserProjection.dropMask(count: 2000, probability: 0.1, rng: &r)
        XCTAssertEqual(Double(mask.filter { $0 }.count) / 2000, 0.1, accuracy: 0.03)
        XCTAssertThrowsError(try p.tokens(Tensor(zeros: [1, 5]))) { XCTAssertTrue("\($0)".contains("[B, 3]"), "\($0)") }
    }

    func testUserMixParsing() throws {
        let mix = try UserMix(parsing: "41:0.5, 44:1.5")
        XCTAssertEqual(mix.components.map(\.user), [41, 44])
        XCTAssertEqual(mix.components.map(\.weight), [0.25, 0.75])
        for bad in ["", "41", "41:0.5,", "a:1", "41:x", "41:-1", "41:1,41:2", "41:0,44:0", "41:0.5:2"] {
            XCTAssertThrowsError(try UserMix(parsing: bad), "'\(bad)' must be rejected") { error in
                guard case PersonalizationError.invalidUserMix(let text, _) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(text, bad)
                XCTAssertTrue("\(error)".contains("USER:WEIGHT"), "the message shows the format: \(error)")
            }
        }
    }

    private func usersDataset() throws -> String {
        try PersonalizationWorld.dataset([
            "train": [(1, .bright, 6), (2, .dark, 6)],
            "heldout_train": [(7, .bright, 4), (8, .dark, 1)],
        ])
    }

    func testUnknownUserAndTooFewPairsAreClearErrors() throws {
        let data = try usersDataset()
        let r = PersonalizationWorld.resolution
        XCTAssertThrowsError(try UserExamples.fromDataset(directory: data, splits: ["heldout_train", "train"], user: 99, shots: 2, resolution: r)) { error in
            guard case PersonalizationError.unknownUser(99, _, let available) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(available, "1, 2, 7, 8")
        }
        XCTAssertThrowsError(try UserExamples.fromDataset(directory: data, splits: ["heldout_train"], user: 8, shots: 2, resolution: r)) { error in
            guard case PersonalizationError.tooFewPairs(8, 1, 2, _, _) = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("--user-shots 1"), "\(error)")
        }
        XCTAssertThrowsError(try UserExamples.fromDataset(directory: data, splits: ["nope"], user: 1, shots: 2, resolution: r)) { error in
            XCTAssertTrue("\(error)".contains("has none of the splits nope"), "\(error)")
        }
        // The first split holding the user wins: user 1 is only in train.
        // The whole pool of the user's pairs comes back (K are chosen from it), with prompts and targets.
        let e = try UserExamples.fromDataset(directory: data, splits: ["heldout_train", "train"], user: 1, shots: 3, resolution: r)
        XCTAssertEqual(e.winners.shape, [6, 3, r, r])
        XCTAssertEqual(e.prompts.count, 6)
        XCTAssertEqual(e.targets, [Double](repeating: 1, count: 6))
        XCTAssertTrue(e.source.contains("train.jsonl"), e.source)
    }

    func testExamplesFileGivesTheSameEmbeddingAsTheDatasetUser() throws {
        let data = try usersDataset()
        let r = PersonalizationWorld.resolution
        // The user's rows, copied into their own file next to the images (paths stay relative).
        let rows = try String(contentsOfFile: data + "/heldout_train.jsonl", encoding: .utf8)
            .split(separator: "\n").filter { $0.contains("\"user_id\":7") }
        XCTAssertEqual(rows.count, 4)
        let file = data + "/user7.jsonl"
        try (rows.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let encoder = try PersonalizationWorld.encoder()
        // All four pairs from the file, or the four most informative (= all four) of the dataset user's pool.
        let fromFile = try UserConditioning.embedding(UserExamples.read(file: file, shots: 4, resolution: r), encoder: encoder)
        let pool = try UserExamples.fromDataset(directory: data, splits: ["heldout_train"], user: 7, shots: 4, resolution: r)
        let fromData = try UserConditioning.embedding(pool, encoder: encoder, shots: 4)
        for (a, b) in zip(fromFile.toArray(), fromData.toArray()) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        // With K = 2 the dataset user's embedding is the MAP of the two most informative pairs of the pool.
        let prior = try encoder.prior(), features = try pool.features(encoder: encoder)
        let top2 = prior.informativeOrder(features).prefix(2).map { features[$0] }
        XCTAssertEqual(try UserConditioning.embedding(pool, encoder: encoder, shots: 2).toArray(),
                       prior.embedding(weights: prior.mapEstimate(top2)))
        XCTAssertThrowsError(try UserExamples.read(file: file, shots: 5, resolution: r)) { error in
            XCTAssertTrue("\(error)".contains("4 usable labelled pair(s)") && "\(error)".contains("K = 5"), "\(error)")
        }
        try "{\"caption\": 1}\n".write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try UserExamples.read(file: file, shots: 1, resolution: r)) { error in
            XCTAssertTrue("\(error)".contains("user7.jsonl") && "\(error)".contains("line 1"), "\(error)")
        }
        XCTAssertThrowsError(try UserExamples.read(file: data + "/absent.jsonl", shots: 1, resolution: r)) { error in
            XCTAssertTrue("\(error)".contains("does not exist"), "\(error)")
        }
    }

    func testConditioningTokensMixAndGenerationHook() throws {
        let data = try usersDataset()
        let p = try parts()
        let one = try UserConditioning.make(parts: p, source: .user(1), data: data)
        let two = try UserConditioning.make(parts: p, source: .user(2), data: data)
        let half = try UserConditioning.make(parts: p, source: .mix(UserMix(parsing: "1:1,2:1")), data: data)
        for i in 0..<3 {
            XCTAssertEqual(half.embedding.data[i], 0.5 * (one.embedding.data[i] + two.embedding.data[i]), accuracy: 1e-6)
        }
        let none = try UserConditioning.make(parts: p, source: .none, data: data)
        XCTAssertEqual(none.tokens.toArray(), [Float](repeating: 0, count: 3 * 16))
        // The hook plugs into generate(): a personalized model samples for a user (tiny model, 2 steps).
        let model = try TinyWorld.model()
        let hook = try one.extraTokens(for: model)
        XCTAssertEqual(try hook(2..<5)?.shape, [3, 3, 16])
        let gens = [RNG(seed: 0, stream: 0), RNG(seed: 0, stream: 1)]
        let options = GenerationOptions(steps: 2, guidance: 2)
        let withUser = try model.generate(prompts: ["a red circle", "a red circle"], generators: gens, options: options, extraTokens: hook)
        let without = try model.generate(prompts: ["a red circle", "a red circle"], generators: gens, options: options)
        XCTAssertEqual(withUser.count, 2)
        XCTAssertNotEqual(withUser[0].pixels, without[0].pixels, "user tokens change what the model attends to")
    }

    func testProjectionFolderRoundTripAndNonPersonalizedModel() throws {
        let p = try parts()
        let dir = PersonalizationWorld.temporaryDirectory("model")
        XCTAssertFalse(PersonalizedModelParts.exists(in: dir))
        XCTAssertThrowsError(try PersonalizedModelParts.load(modelDirectory: dir)) { error in
            XCTAssertTrue("\(error)".contains("not a personalized model"), "\(error)")
        }
        try p.save(to: dir)
        let loaded = try PersonalizedModelParts.load(modelDirectory: dir)
        XCTAssertEqual(loaded.projection.config, p.projection.config)
        XCTAssertEqual(loaded.projection.weight.toArray(), p.projection.weight.toArray())
        XCTAssertEqual(loaded.encoder.stateDict()["proj_out.weight"]?.toArray(), p.encoder.stateDict()["proj_out.weight"]?.toArray())
    }

    func testDecoupledProjectionFolderRoundTripAndAttach() throws {
        let model = try TinyWorld.model()
        let p = try UserProjection.forUNet(model.unet, embeddingDim: 3, numTokens: 2, shots: 2, userDropout: 0.1, injection: .decoupled)
        let layers = model.unet.crossAttentionLayers
        XCTAssertEqual(p.branches.count, layers.count)
        XCTAssertEqual(p.config.branchInnerDims, layers.map(\.toK.outFeatures))
        XCTAssertEqual(p.branches[0].toV.weight.toArray(), layers[0].toV.weight.toArray(), "IP-Adapter init: a copy of the text's K/V")
        var rng = RNG(seed: 6)
        for i in 0..<p.weight.count { p.weight.data[i] = rng.nextNormal() * 0.3 }
        let original = try PersonalizedModelParts(encoder: PersonalizationWorld.encoder(), projection: p)
        let dir = PersonalizationWorld.temporaryDirectory("model")
        try original.save(to: dir)
        let loaded = try PersonalizedModelParts.load(modelDirectory: dir)
        XCTAssertEqual(loaded.projection.config, p.config)
        let a = p.stateDict(), b = loaded.projection.stateDict()
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        XCTAssertTrue(a.keys.contains("attn2.0.to_k.weight"), "\(a.keys.sorted())")
        for (name, t) in a { XCTAssertEqual(t.toArray(), b[name]?.toArray(), name) }

        // Sampling: the hook attaches the loaded branches; "no user" is then exactly the unattached model.
        let data = try usersDataset()
        let gens = [RNG(seed: 0, stream: 0)], options = GenerationOptions(steps: 2, guidance: 2), prompts = ["a red circle"]
        let plain = try model.generate(prompts: prompts, generators: gens, options: options)
        let attachedModel = try TinyWorld.model()
        let user = try UserConditioning.make(parts: loaded, source: .user(1), data: data)
        let none = try UserConditioning.make(parts: loaded, source: .none, data: data)
        let withUser = try attachedModel.generate(prompts: prompts, generators: gens, options: options,
                                                  extraTokens: user.extraTokens(for: attachedModel))
        XCTAssertEqual(attachedModel.unet.decoupledBranches.count, layers.count)
        let noUser = try attachedModel.generate(prompts: prompts, generators: gens, options: options,
                                                extraTokens: none.extraTokens(for: attachedModel))
        XCTAssertEqual(noUser[0].pixels, plain[0].pixels, "zero user tokens add nothing through their own branch")
        // Cached samples are keyed by the attached branches too: same U-Net and tokens, other branches → other folder.
        let root = PersonalizationWorld.temporaryDirectory("cache")
        let plainKey = try SampleCache(root: root, model: model, options: options, extraTokens: user.tokens).directory
        let attachedKey = try SampleCache(root: root, model: attachedModel, options: options, extraTokens: user.tokens).directory
        XCTAssertNotEqual(plainKey, attachedKey)
        XCTAssertNotEqual(withUser[0].pixels, plain[0].pixels, "a user's tokens change the images")
        // Once attached, a context without the user tokens is refused rather than misread.
        XCTAssertThrowsError(try attachedModel.generate(prompts: prompts, generators: gens, options: options)) {
            XCTAssertTrue("\($0)".contains("decoupled cross-attention expects"), "\($0)")
        }
    }

    func testProjectionConfigWithoutInjectionIsAppended() throws {
        // user_projection/config.json as written before decoupled branches existed.
        let json = #"{"embedding_dim": 4, "num_tokens": 4, "cross_attention_dim": 64, "shots": 4, "user_dropout": 0.1}"#
        let config = try JSONDecoder().decode(UserProjectionConfig.self, from: Data(json.utf8))
        XCTAssertEqual(config.injection, .appended)
        XCTAssertEqual(config.branchInnerDims, [])
        var bad = config
        bad.injection = .decoupled
        XCTAssertThrowsError(try UserProjection(config: bad)) { XCTAssertTrue("\($0)".contains("branch_inner_dims"), "\($0)") }
    }
}
