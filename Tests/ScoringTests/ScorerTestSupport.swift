import Diffusion
import Foundation
import Kernels
import Scoring
import XCTest

/// A scorer small enough for unit tests (16×16 images, an 8-dimensional embedding).
enum TinyScorer {
    static var config: PreferenceScorerConfig {
        var c = PreferenceScorerConfig(text: TextEncoderConfig(hiddenSize: 16, intermediateSize: 32, numHiddenLayers: 1,
                                                               numAttentionHeads: 2))
        c.projectionDim = 8
        c.vision.imageSize = 16
        c.vision.stemChannels = 4
        c.vision.stageChannels = [8, 8]
        c.vision.normGroups = 4
        return c
    }

    static func make(seed: UInt64 = 1) throws -> PreferenceScorer {
        var rng = RNG(seed: seed)
        return try PreferenceScorer(config: config, rng: &rng)
    }
}

/// A fresh temporary directory per test, removed at tear-down.
class ScorerTempDirTestCase: XCTestCase {
    var temp = ""

    override func setUpWithError() throws {
        temp = (NSTemporaryDirectory() as NSString).appendingPathComponent("t2ialign-scorer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: temp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: temp)
    }

    func path(_ relative: String) -> String { (temp as NSString).appendingPathComponent(relative) }
}
