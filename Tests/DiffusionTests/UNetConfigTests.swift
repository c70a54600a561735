import Foundation
import XCTest
import Diffusion

/// The model config.json files: diffusers' UNet2DConditionModel and transformers' CLIPTextConfig keys.
final class UNetConfigTests: XCTestCase {
    private func fixturePath(_ name: String) throws -> String {
        try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures"),
                      "\(name).json missing").path
    }

    private func decodeUNet(_ json: String) throws -> UNetConfig {
        try JSONDecoder().decode(UNetConfig.self, from: Data(json.utf8))
    }

    private func assertConfigError(_ json: String, mentions needle: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try decodeUNet(json), file: file, line: line) { error in
            XCTAssertTrue(error is ModelConfigError, "\(error)", file: file, line: line)
            XCTAssertTrue("\(error)".contains(needle), "\"\(error)\" does not mention \(needle)", file: file, line: line)
        }
    }

    func testReadsDiffusersConfigJSON() throws {
        // Written by diffusers' save_config (Scripts/make_parity_fixtures.py): every key, most at defaults.
        let c = try UNetConfig.load(from: fixturePath("parity_unet_config"))
        XCTAssertEqual(c.blockOutChannels, [8, 16, 16])
        XCTAssertEqual(c.normNumGroups, 4)
        XCTAssertEqual(c.crossAttentionDim, 32)
        XCTAssertEqual(c.attentionHeadDim, [4, 4, 4])
        XCTAssertEqual(c.layersPerBlock, [1, 1, 1])
        XCTAssertEqual(c.downBlockTypes, ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"])
        XCTAssertEqual(c.upBlockTypes, ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"])
        XCTAssertEqual([c.inChannels, c.outChannels, c.sampleSize, c.freqShift, c.downsamplePadding], [3, 3, 32, 0, 1])
        XCTAssertTrue(c.flipSinToCos)
        XCTAssertEqual(c.normEps, 1e-5)
    }

    func testPresetsMatchTheBenchContract() throws {
        // ../shared/bench/models.py UNET_VARIANTS
        XCTAssertEqual(UNetConfig.tiny.blockOutChannels, [32, 64, 64])
        XCTAssertEqual(UNetConfig.small.blockOutChannels, [64, 128, 128])
        XCTAssertEqual(try UNetConfig.preset(named: "medium").blockOutChannels, [96, 192, 192])
        for c in UNetConfig.presets.values {
            XCTAssertNoThrow(try c.validate())
            XCTAssertEqual(c.attentionHeadDim, [4, 4, 4])
            XCTAssertEqual(c.crossAttentionDim, 128)
            XCTAssertEqual(c.normNumGroups, 32)
        }
        XCTAssertThrowsError(try UNetConfig.preset(named: "huge")) { error in
            XCTAssertTrue("\(error)".contains("medium, small, tiny"))
        }
    }

    func testRoundTripsThroughJSON() throws {
        var c = UNetConfig.small
        c.attentionHeadDim = [2, 4, 8]
        let back = try JSONDecoder().decode(UNetConfig.self, from: c.jsonData())
        XCTAssertEqual(back, c)
        let text = String(decoding: try UNetConfig.tiny.jsonData(), as: UTF8.self)
        XCTAssertTrue(text.contains("\"_class_name\" : \"UNet2DConditionModel\""))
        XCTAssertTrue(text.contains("\"attention_head_dim\" : 4"))
    }

    func testPerLevelListsAndDefaults() throws {
        let c = try decodeUNet("""
        {"block_out_channels": [32, 64], "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D"],
         "up_block_types": ["CrossAttnUpBlock2D", "UpBlock2D"], "attention_head_dim": [1, 8],
         "layers_per_block": [2, 1], "cross_attention_dim": 16, "in_channels": 3, "out_channels": 3}
        """)
        XCTAssertEqual(c.attentionHeadDim, [1, 8])
        XCTAssertEqual(c.layersPerBlock, [2, 1])
        XCTAssertEqual(c.normNumGroups, 32)  // diffusers' default
    }

    func testUnsupportedFeaturesAreNamed() {
        let base = #""block_out_channels": [32, 64], "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D"], "up_block_types": ["CrossAttnUpBlock2D", "UpBlock2D"], "cross_attention_dim": 16"#
        assertConfigError("{\(base), \"use_linear_projection\": true}", mentions: "use_linear_projection")
        assertConfigError("{\(base), \"resnet_time_scale_shift\": \"scale_shift\"}", mentions: "resnet_time_scale_shift")
        assertConfigError("{\(base), \"class_embed_type\": \"timestep\"}", mentions: "class_embed_type")
        assertConfigError("{\(base), \"transformer_layers_per_block\": 2}", mentions: "transformer_layers_per_block")
        assertConfigError("{\(base), \"mid_block_type\": \"UNetMidBlock2D\"}", mentions: "mid_block_type")
        assertConfigError("{\(base), \"act_fn\": \"gelu\"}", mentions: "act_fn")
        assertConfigError("{\(base), \"_class_name\": \"UNet2DModel\"}", mentions: "_class_name")
        assertConfigError(#"{"block_out_channels": [32], "down_block_types": ["DownBlock2D"], "up_block_types": ["UpBlock2D"], "cross_attention_dim": [16]}"#,
                          mentions: "cross_attention_dim")
    }

    func testInconsistentConfigsAreNamed() {
        assertConfigError(#"{"block_out_channels": [32, 48], "down_block_types": ["DownBlock2D", "DownBlock2D"], "up_block_types": ["UpBlock2D", "UpBlock2D"]}"#,
                          mentions: "norm_num_groups 32")
        assertConfigError(#"{"block_out_channels": [32, 64], "down_block_types": ["DownBlock2D"], "up_block_types": ["UpBlock2D", "UpBlock2D"]}"#,
                          mentions: "down_block_types")
        assertConfigError(#"{"block_out_channels": [32], "down_block_types": ["AttnDownBlock2D"], "up_block_types": ["UpBlock2D"]}"#,
                          mentions: "AttnDownBlock2D")
        assertConfigError(#"{"block_out_channels": [32], "down_block_types": ["CrossAttnDownBlock2D"], "up_block_types": ["UpBlock2D"], "attention_head_dim": 5}"#,
                          mentions: "5 heads do not divide the 32 channels")
        assertConfigError(#"{"block_out_channels": [32, 64], "down_block_types": ["DownBlock2D", "DownBlock2D"], "up_block_types": ["UpBlock2D", "UpBlock2D"], "layers_per_block": [1, 1, 1]}"#,
                          mentions: "layers_per_block")
        assertConfigError(#"{"block_out_channels": "wide"}"#, mentions: "block_out_channels")
        assertConfigError(#"{"block_out_channels": [32], "down_block_types": ["DownBlock2D"], "up_block_types": ["UpBlock2D"], "freq_shift": 16}"#,
                          mentions: "freq_shift")
    }

    func testUnreadableFilesNameThePath() throws {
        XCTAssertThrowsError(try UNetConfig.load(from: "/nonexistent/config.json")) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/config.json"), "\(error)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("unet-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("config.json").path
        try Data("{ not json".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try UNetConfig.load(from: path)) { error in
            XCTAssertTrue("\(error)".contains(path) && "\(error)".contains("not a JSON object"), "\(error)")
        }
    }

    // MARK: Text encoder config

    func testReadsTransformersTextConfig() throws {
        let c = try TextEncoderConfig.load(from: fixturePath("parity_text_config"))
        XCTAssertEqual([c.vocabSize, c.hiddenSize, c.intermediateSize, c.numHiddenLayers, c.numAttentionHeads,
                        c.maxPositionEmbeddings], [260, 32, 128, 2, 4, 80])
        XCTAssertEqual(c.hiddenAct, .quickGELU)
        XCTAssertEqual([c.bosTokenId, c.eosTokenId, c.padTokenId], [256, 257, 258])
        XCTAssertEqual(try JSONDecoder().decode(TextEncoderConfig.self, from: c.jsonData()), c)
    }

    func testTextPresetsMatchTheBenchContract() {
        // models.py make_text_encoder: vocab 260, hidden 128, intermediate 512, 4 heads, 80 positions.
        XCTAssertEqual(TextEncoderConfig.tiny.numHiddenLayers, 2)
        XCTAssertEqual(TextEncoderConfig.small.numHiddenLayers, 3)
        for c in TextEncoderConfig.presets.values {
            XCTAssertEqual([c.vocabSize, c.hiddenSize, c.intermediateSize, c.numAttentionHeads, c.maxPositionEmbeddings],
                           [260, 128, 512, 4, 80])
            XCTAssertEqual(c.hiddenAct, .quickGELU)
        }
    }

    func testBadTextConfigsAreNamed() {
        func check(_ json: String, _ needle: String, line: UInt = #line) {
            XCTAssertThrowsError(try JSONDecoder().decode(TextEncoderConfig.self, from: Data(json.utf8)), line: line) { error in
                XCTAssertTrue("\(error)".contains(needle), "\"\(error)\" does not mention \(needle)", line: line)
            }
        }
        check(#"{"hidden_act": "gelu_new"}"#, "hidden_act")
        check(#"{"hidden_size": 30, "num_attention_heads": 4}"#, "num_attention_heads")
        check(#"{"model_type": "clip"}"#, "text_config")
        check(#"{"attention_dropout": 0.1}"#, "attention_dropout")
    }
}
