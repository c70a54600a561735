import Datasets
import Diffusion
import Foundation
import ImageIO
import Kernels
import Preference
import Scoring
@testable import t2ialign
import XCTest

/// The `--user*` options of `sample` and `eval`: a personalized model generates for the chosen user,
/// the user is part of the evaluation's identity, and impossible combinations are clear errors.
final class UserOptionsCommandTests: XCTestCase {
    private static let resolution = 8

    private func temporary(_ tag: String) -> String {
        NSTemporaryDirectory() + "t2i-cli-\(tag)-\(UUID().uuidString)"
    }

    /// A tiny text-to-image model folder; with `personalized`, plus user_encoder/ and user_projection/.
    private func modelFolder(personalized: Bool) throws -> String {
        var rng = RNG(seed: 3)
        let unet = UNetConfig(sampleSize: Self.resolution, blockOutChannels: [8, 16, 16], attentionHeadDim: 2,
                              crossAttentionDim: 16, normNumGroups: 4)
        let text = TextEncoderConfig(hiddenSize: 16, intermediateSize: 32, numHiddenLayers: 1, numAttentionHeads: 2)
        let model = try TextToImageModel(unet: UNet2DConditionModel(config: unet, rng: &rng),
                                         textEncoder: TextEncoder(config: text, rng: &rng), schedule: NoiseSchedule())
        let dir = temporary("model")
        try model.save(to: dir)
        if personalized {
            var c = UserEncoderConfig()
            c.sampleSize = Self.resolution
            c.blockOutChannels = [4, 8]
            c.hiddenDim = 16
            c.embeddingDim = 3
            c.shots = 2
            var sc = PreferenceScorerConfig(text: TextEncoderConfig(hiddenSize: 16, intermediateSize: 32, numHiddenLayers: 1,
                                                                    numAttentionHeads: 2))
            sc.projectionDim = 8
            sc.vision.imageSize = Self.resolution
            sc.vision.stemChannels = 4
            sc.vision.stageChannels = [8, 8]
            sc.vision.normGroups = 4
            let encoder = try UserEncoder(config: c, scorer: PreferenceScorer(config: sc, rng: &rng), rng: &rng)
            // Large weights so different users give visibly different tokens in a 2-step sample.
            let projection = try UserProjection(config: UserProjectionConfig(embeddingDim: 3, numTokens: 2, crossAttentionDim: 16, shots: 2))
            for i in 0..<projection.weight.count { projection.weight.data[i] = 15 * rng.nextNormal() }
            try PersonalizedModelParts(encoder: encoder, projection: projection).save(to: dir)
        }
        return dir
    }

    /// Users 7 (likes bright images) and 8 (likes dark ones), three pairs each, in heldout_train.
    private func usersDataset() throws -> String {
        let dir = temporary("users")
        let writer = try DatasetWriter(directory: dir, resolution: Self.resolution)
        var rng = RNG(seed: 9)
        func image(bright: Bool) -> RGBImage {
            RGBImage(width: Self.resolution, height: Self.resolution,
                     pixels: (0..<(Self.resolution * Self.resolution * 3)).map { _ in UInt8((bright ? 150 : 30) + rng.nextInt(below: 70)) })
        }
        var id = 0
        for (user, likesBright) in [(7, true), (8, false)] {
            for i in 0..<3 {
                id += 1
                let brightFirst = i % 2 == 0
                let firstWins = likesBright == brightFirst
                let row = PairRow(caption: "a red circle on a blue background", jpg0: "", jpg1: "",
                                  label0: firstWins ? 1 : 0, label1: firstWins ? 0 : 1, userID: user, rankingID: id,
                                  image0UID: "p\(id)a", image1UID: "p\(id)b", bestImageUID: firstWins ? "p\(id)a" : "p\(id)b",
                                  model0: "m0", model1: "m1", hasLabel: true, areDifferent: true, createdAt: "2026-11-27T00:00:00Z")
                try writer.append(row, image0: image(bright: brightFirst), image1: image(bright: !brightFirst), split: "heldout_train")
            }
        }
        try writer.finish()
        return dir
    }

    private func sample(_ model: String, _ extra: [String]) throws -> RGBImage {
        let out = temporary("sample") + ".png"
        try SampleCommand.parse(["--model", model, "--prompt", "a red circle", "--steps", "2", "--out", out] + extra).run()
        return try ImageFile.read(out)
    }

    func testSampleGeneratesForTheChosenUser() throws {
        let model = try modelFolder(personalized: true), data = try usersDataset()
        let none = try sample(model, [])
        let seven = try sample(model, ["--user", "7", "--user-data", data])
        let eight = try sample(model, ["--user", "8", "--user-data", data])
        XCTAssertEqual(try sample(model, ["--user", "7", "--user-data", data]).pixels, seven.pixels, "same user, same seed, same image")
        XCTAssertNotEqual(seven.pixels, eight.pixels, "users who disagree get different images")
        XCTAssertNotEqual(seven.pixels, none.pixels, "a user is not the same as no user")
    }

    func testNoUserTokensIsTheNoUserControl() throws {
        let model = try modelFolder(personalized: true), data = try usersDataset()
        XCTAssertEqual(try sample(model, ["--user", "7", "--user-data", data, "--no-user-tokens"]).pixels, try sample(model, []).pixels)
        XCTAssertThrowsError(try SampleCommand.parse(["--model", model, "--prompt", "x", "--no-user-tokens"])) { error in
            XCTAssertTrue(SampleCommand.message(for: error).contains("--no-user-tokens is a control for --user or --user-mix"),
                          SampleCommand.message(for: error))
        }
    }

    func testUserGridHasOneRowPerUserOverTheSamePrompts() throws {
        let model = try modelFolder(personalized: true), data = try usersDataset()
        let out = temporary("grid")
        try SampleCommand.parse(["--model", model, "--prompt", "a red circle", "--steps", "2", "--out", out,
                                 "--grid-users", "7,8", "--user-data", data]).run()
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/user-grid.png"))
        // Row by row: the same noise, so "no user" equals a plain no-user sample and user 7 equals --user 7.
        let rows = try ["no-user", "user-7", "user-8"].map { try ImageFile.read(out + "/\($0)/0000.png").pixels }
        XCTAssertEqual(rows[0], try sample(model, []).pixels)
        XCTAssertEqual(rows[1], try sample(model, ["--user", "7", "--user-data", data]).pixels)
        XCTAssertNotEqual(rows[1], rows[2])
        for bad in [["--grid-users", "7,x"], ["--grid-users", "7", "--user", "8"]] {
            XCTAssertThrowsError(try SampleCommand.parse(["--model", model, "--prompt", "x", "--out", out] + bad)) { error in
                XCTAssertTrue(SampleCommand.message(for: error).contains("--grid-users"), SampleCommand.message(for: error))
            }
        }
    }

    func testSampleRefusesAUserForANonPersonalizedModel() throws {
        let model = try modelFolder(personalized: false), data = try usersDataset()
        XCTAssertThrowsError(try sample(model, ["--user", "7", "--user-data", data])) { error in
            XCTAssertTrue("\(error)".contains("not a personalized model"), "\(error)")
        }
        XCTAssertThrowsError(try SampleCommand.parse(["--model", model, "--prompt", "x", "--user", "7", "--user-mix", "7:1"])) { error in
            XCTAssertTrue(SampleCommand.message(for: error).contains("at most one of --user, --user-examples, --user-mix"),
                          SampleCommand.message(for: error))
        }
    }

    private func evaluate(_ model: String, _ baseline: String, _ extra: [String]) throws -> (nameA: String, nameB: String) {
        let out = temporary("eval")
        try EvalCommand.parse(["--model", model, "--baseline", baseline, "--oracle", "--prompts", try promptsFile(),
                               "--seeds", "1", "--steps", "2", "--no-sample-cache", "--out", out] + extra).run()
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/report.json"))) as? [String: Any]
        return (json?["nameA"] as? String ?? "", json?["nameB"] as? String ?? "")
    }

    private func promptsFile() throws -> String {
        let path = temporary("prompts") + ".txt"
        try "a red circle on a blue background\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testEvalConditionsThePersonalizedModelAndNamesTheUser() throws {
        let personal = try modelFolder(personalized: true), plain = try modelFolder(personalized: false), data = try usersDataset()
        // The user's pairs as an examples file (image paths relative to it).
        let rows = try String(contentsOfFile: data + "/heldout_train.jsonl", encoding: .utf8).split(separator: "\n")
            .filter { $0.contains("\"user_id\":7") }
        let file = data + "/user7.jsonl"
        try (rows.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)

        let names = try evaluate(personal, plain, ["--user-examples", file])
        XCTAssertTrue(names.nameA.contains("user of user7.jsonl"), names.nameA)
        XCTAssertFalse(names.nameB.contains("user"), "the non-personalized baseline ignores the user: \(names.nameB)")

        XCTAssertThrowsError(try evaluate(plain, plain, ["--user-examples", file])) { error in
            XCTAssertTrue("\(error)".contains("conditions personalized models only"), "\(error)")
        }
        XCTAssertThrowsError(try EvalCommand.parse(["--model", plain, "--baseline", plain, "--scorer", "Models/shapes-scorer",
                                                    "--user-mix", "7:1"])) { error in
            XCTAssertTrue(EvalCommand.message(for: error).contains("not personalized"), EvalCommand.message(for: error))
        }
    }
}
