import Autograd
import Datasets
import Foundation
import ImageIO
import Kernels
import NN
import Scoring
import XCTest

/// The dual encoder: names, the scale cap, save → load, and every way a scorer folder can be bad.
final class ScorerModelTests: ScorerTempDirTestCase {
    func testParameterNamesAreCLIPLike() throws {
        let names = Set(try TinyScorer.make().namedParameters().map(\.0))
        for name in ["logit_scale", "visual_projection.weight", "text_projection.weight",
                     "vision_model.embeddings.conv.weight", "vision_model.stages.1.downsample.weight",
                     "vision_model.post_layernorm.weight", "text_model.embeddings.token_embedding.weight",
                     "text_model.encoder.layers.0.self_attn.q_proj.weight", "text_model.final_layer_norm.bias"] {
            XCTAssertTrue(names.contains(name), "missing \(name)")
        }
        XCTAssertFalse(names.contains("visual_projection.bias"), "CLIP's projections have no bias")
    }

    func testLogitScaleStartsAtCLIPsValueAndIsCappedAt100() throws {
        let scorer = try TinyScorer.make()
        XCTAssertEqual(scorer.logitScale.item(), Float(log(1 / 0.07)), accuracy: 1e-6)
        XCTAssertEqual(scorer.scale().item(), Float(1 / 0.07), accuracy: 1e-3)
        scorer.logitScale.data[0] = 10  // exp(10) ≈ 22026
        XCTAssertEqual(scorer.scale().item(), 100, accuracy: 1e-3)
        scorer.clampLogitScale()
        XCTAssertEqual(scorer.logitScale.item(), Float(log(100.0)), accuracy: 1e-6)
        scorer.logitScale.data[0] = -3
        scorer.clampLogitScale()
        XCTAssertEqual(scorer.scale().item(), 1, "logit_scale is kept ≥ 0, as open_clip clamps it")
    }

    func testScoresAreScaledCosinesOfUnitEmbeddings() throws {
        let scorer = try TinyScorer.make()
        var rng = RNG(seed: 5)
        let pixels = Tensor.rand([3, 3, 16, 16], rng: &rng, low: -1, high: 1)
        let prompts = ["a red circle on a blue background", "a small green square on a white background", ""]
        let img = try scorer.imageEmbeddings(pixels).toArray(), text = try scorer.textEmbeddings(prompts).toArray()
        let s = try scorer.scores(pixels: pixels, prompts: prompts).toArray()
        let d = 8
        for i in 0..<3 {
            let a = Array(img[(i * d)..<((i + 1) * d)]), b = Array(text[(i * d)..<((i + 1) * d)])
            XCTAssertEqual(a.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-5)
            XCTAssertEqual(b.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-5)
            let cosine = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
            XCTAssertEqual(s[i], scorer.scale().item() * cosine, accuracy: 1e-4)
        }
        let (s1, s2) = try scorer.pairScores(first: pixels, second: pixels, prompts: prompts)
        // Same images on both sides; equal up to rounding (a GEMM may round rows of one batch differently).
        for (a, b) in zip(s1.toArray(), s2.toArray()) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        for (a, b) in zip(s1.toArray(), s) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    func testTextIsPooledAtTheFirstEOSWhateverThePaddingLength() throws {
        // CLIP pools the causal transformer's state at the EOS token; the scorer runs only up to the batch's
        // last EOS, which must give what the full 80-token batch gives.
        let scorer = try TinyScorer.make(seed: 4)
        let prompts = ["a red circle on a blue background", "a large purple triangle at the bottom right on a yellow background"]
        let full = scorer.tokenizer.encode(prompts)
        let hidden = try scorer.textModel(full)
        let eos = prompts.map { $0.utf8.count + 1 }
        let reference = l2Normalize(scorer.textProjection(gatherRows(hidden, indices: eos))).toArray()
        let fast = try scorer.textEmbeddings(prompts).toArray()
        for (a, b) in zip(fast, reference) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    func testWrongInputsAreTypedErrors() throws {
        let scorer = try TinyScorer.make()
        XCTAssertThrowsError(try scorer.scores(pixels: Tensor(zeros: [1, 3, 32, 32]), prompts: ["x"])) {
            XCTAssertTrue("\($0)".contains("image_size 16"), "\($0)")
        }
        XCTAssertThrowsError(try scorer.scores(pixels: Tensor(zeros: [2, 3, 16, 16]), prompts: ["x"])) {
            XCTAssertTrue("\($0)".contains("one prompt per image"), "\($0)")
        }
    }

    func testSaveThenLoadGivesIdenticalScores() throws {
        let scorer = try TinyScorer.make(seed: 9)
        scorer.logitScale.data[0] = 3.1
        let dir = path("scorer")
        try scorer.save(to: dir, card: "# card\n")
        for file in ["model.safetensors", "config.json", "README.md"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/" + file), file)
        }
        let loaded = try PreferenceScorer.load(from: dir)
        XCTAssertEqual(loaded.config, scorer.config)
        var rng = RNG(seed: 2)
        let pixels = Tensor.rand([2, 3, 16, 16], rng: &rng, low: -1, high: 1)
        let prompts = ["a large yellow triangle at the top left on a black background", "a blue square on a red background"]
        XCTAssertEqual(try loaded.scores(pixels: pixels, prompts: prompts).toArray(),
                       try scorer.scores(pixels: pixels, prompts: prompts).toArray())

        // The ImageScorer view of the folder gives the same numbers from RGB images.
        var images: [RGBImage] = []
        for k in 0..<2 {
            var im = RGBImage(width: 16, height: 16, fill: (0, 0, 0))
            for y in 0..<16 { for x in 0..<16 { im[x, y] = (UInt8((x * 16 + k * 50) % 256), UInt8(y * 15), 128) } }
            images.append(im)
        }
        let learned = try LearnedScorer(directory: dir)
        let viaImages = try learned.scores(images: images, prompts: prompts)
        let transform = try ImageTransform(resolution: 16)
        let direct = try scorer.scores(pixels: Tensor(shape: [2, 3, 16, 16], data: images.flatMap { transform.modelInput($0) }),
                                       prompts: prompts).toArray()
        for (a, b) in zip(viaImages, direct) { XCTAssertEqual(a, Double(b), accuracy: 1e-5) }
        XCTAssertTrue(learned.unit.contains("scale × cosine"))
    }

    func testConfigJSONRoundTripsWithCLIPKeys() throws {
        let data = try TinyScorer.config.jsonData()
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        for key in ["projection_dim", "logit_scale_init_value", "vision_config", "text_config", "model_type"] {
            XCTAssertNotNil(json[key], key)
        }
        XCTAssertEqual((json["text_config"] as? [String: Any])?["model_type"] as? String, "clip_text_model")
        XCTAssertEqual(try JSONDecoder().decode(PreferenceScorerConfig.self, from: data), TinyScorer.config)
    }

    func testDetailBranchIsHighPassAndOptional() throws {
        var config = TinyScorer.config
        config.vision.detailChannels = 4
        var rng = RNG(seed: 3)
        let scorer = try PreferenceScorer(config: config, rng: &rng)
        let names = Dictionary(uniqueKeysWithValues: scorer.namedParameters().map { ($0.0, $0.1) })
        let w = try XCTUnwrap(names["vision_model.detail.conv.weight"])
        XCTAssertEqual(w.shape, [4, 3, 3, 3])
        XCTAssertNil(names["vision_model.detail.conv.bias"])
        // Each 3×3 kernel starts zero-mean, so a flat image gives zero response and zero energy.
        let kernels = w.toArray()
        for k in 0..<12 { XCTAssertEqual(kernels[(k * 9)..<(k * 9 + 9)].reduce(0, +), 0, accuracy: 1e-6) }
        let flat = Tensor(shape: [1, 3, 16, 16], data: [Float](repeating: 0.3, count: 768))
        let energy = logEnergy(conv2d(flat, weight: w), eps: 1e-3).toArray()
        XCTAssertLessThan(energy.map(abs).max()!, 1e-8)
        XCTAssertEqual(config.vision.hiddenSize, 8 + 4 + 4)
        XCTAssertEqual(try scorer.imageEmbeddings(flat).shape, [1, 8])

        // A config written before the branch existed has no detail_channels: it decodes as 0.
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: config.jsonData()) as? [String: Any])
        var vision = try XCTUnwrap(json["vision_config"] as? [String: Any])
        XCTAssertEqual(vision.removeValue(forKey: "detail_channels") as? Int, 4)
        json["vision_config"] = vision
        let old = try JSONDecoder().decode(PreferenceScorerConfig.self, from: JSONSerialization.data(withJSONObject: json))
        XCTAssertEqual(old.vision.detailChannels, 0)
        XCTAssertEqual(old, TinyScorer.config)
        var negative = config
        negative.vision.detailChannels = -1
        XCTAssertThrowsError(try negative.validate(file: "c.json")) { XCTAssertTrue("\($0)".contains("detail_channels"), "\($0)") }
    }

    // MARK: Bad folders

    func expectError(_ dir: String, containing parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try PreferenceScorer.load(from: dir), file: file, line: line) { error in
            XCTAssertTrue(error is ScorerError, "\(type(of: error)): \(error)", file: file, line: line)
            for p in parts { XCTAssertTrue("\(error)".contains(p), "\"\(p)\" not in: \(error)", file: file, line: line) }
        }
    }

    func writeGoodFolder() throws -> String {
        let dir = path("s")
        try TinyScorer.make().save(to: dir, card: "card")
        return dir
    }

    func testMissingFolderAndFiles() throws {
        expectError(path("nowhere"), containing: ["nowhere", "no such directory"])
        let dir = try writeGoodFolder()
        try FileManager.default.removeItem(atPath: dir + "/model.safetensors")
        expectError(dir, containing: ["no model.safetensors", "t2ialign scorer train"])
    }

    func testCorruptConfig() throws {
        let dir = try writeGoodFolder()
        try Data("{ not json".utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
        expectError(dir, containing: ["config.json", "not valid JSON"])

        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: TinyScorer.config.jsonData()) as? [String: Any])
        json["projection_dim"] = 0
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: dir + "/config.json"))
        expectError(dir, containing: ["config.json", "\"projection_dim\"", "must be positive"])

        json = try XCTUnwrap(JSONSerialization.jsonObject(with: TinyScorer.config.jsonData()) as? [String: Any])
        json.removeValue(forKey: "vision_config")
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: dir + "/config.json"))
        expectError(dir, containing: ["\"vision_config\"", "is missing"])

        json = try XCTUnwrap(JSONSerialization.jsonObject(with: TinyScorer.config.jsonData()) as? [String: Any])
        var vision = try XCTUnwrap(json["vision_config"] as? [String: Any])
        vision["norm_groups"] = 3
        json["vision_config"] = vision
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: dir + "/config.json"))
        expectError(dir, containing: ["vision_config.stem_channels", "norm_groups 3"])
    }

    func testTruncatedAndMismatchedWeights() throws {
        let dir = try writeGoodFolder()
        let weights = dir + "/model.safetensors"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: weights))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: weights))
        expectError(dir, containing: ["model.safetensors", "truncated"])

        // Weights of another architecture under this config.
        var other = TinyScorer.config
        other.projectionDim = 4
        var rng = RNG(seed: 0)
        try SafeTensors.write(PreferenceScorer(config: other, rng: &rng).stateDict(), to: weights)
        expectError(dir, containing: ["model.safetensors", "projection", "same training run"])
    }

    func testNonFiniteWeightsAreRefused() throws {
        let scorer = try TinyScorer.make()
        scorer.textProjection.weight.data[3] = .nan
        let dir = path("nan")
        try scorer.save(to: dir, card: "card")
        expectError(dir, containing: ["text_projection.weight", "NaN"])
    }

    func testMirroredPromptSwapsLeftAndRight() {
        XCTAssertEqual(MirroredPrompt.of("a red circle at the top left on a blue background"),
                       "a red circle at the top right on a blue background")
        XCTAssertEqual(MirroredPrompt.of("Right of the LEFT tree, bright leftover"), "Left of the RIGHT tree, bright leftover")
    }

    /// Reference values: a 3×3 grid spans −1, 0, 1 in x (channel 0) and y (channel 1), for every sample.
    func testCoordinateChannelsSpanMinusOneToOne() {
        let t = ImageEncoder.coordinates(batch: 2, size: 3)
        XCTAssertEqual(t.shape, [2, 2, 3, 3])
        let x: [Float] = [-1, 0, 1, -1, 0, 1, -1, 0, 1]
        let y: [Float] = [-1, -1, -1, 0, 0, 0, 1, 1, 1]
        XCTAssertEqual(t.toArray(), x + y + x + y)
        XCTAssertEqual(ImageEncoder.coordinates(batch: 1, size: 1).toArray(), [-1, -1])
    }
}
