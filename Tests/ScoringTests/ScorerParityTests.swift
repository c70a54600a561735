import Autograd
import Foundation
import Kernels
import NN
import Scoring
import XCTest

/// The Swift image tower against its PyTorch copy (`ImageEncoder` in Scripts/probe_user_scorer_features.py,
/// the one the probe scripts score with) on Scripts/make_scorer_fixture.py's fixture: a tiny tower with every
/// part (coordinate planes, stem pooling, the detail branch), seeded weights, loss = Σ pooled · probe.
/// Pooled features within 1e-4, gradients within 1e-3 relative to the largest PyTorch value.
final class ScorerParityTests: XCTestCase {
    func testImageEncoderMatchesPyTorch() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "parity_image_encoder", withExtension: "safetensors",
                                                  subdirectory: "Fixtures"), "run Scripts/make_scorer_fixture.py")
        let file = try SafeTensors.read(url.path)
        let config = try JSONDecoder().decode(ImageEncoderConfig.self,
                                              from: Data(try XCTUnwrap(file.metadata["vision_config"]).utf8))
        XCTAssertEqual(config.detailChannels, 4)
        var rng = RNG(seed: 0)
        let encoder = ImageEncoder(config: config, rng: &rng)
        try encoder.load(stateDict: file.tensors.filter { !$0.key.hasPrefix("io.") })
        func io(_ name: String) throws -> Tensor { try XCTUnwrap(file.tensors["io." + name], "fixture lacks io.\(name)") }

        let pixels = try io("pixels")
        pixels.requiresGrad = true
        let pooled = encoder(pixels)
        XCTAssertEqual(pooled.shape, [2, 16])
        let loss = sum(pooled * (try io("probe")))
        loss.backward()

        func maxAbs(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? 0 }
        XCTAssertLessThan(maxAbs(pooled.toArray(), try io("pooled").toArray()), 1e-4, "pooled features")
        XCTAssertEqual(loss.item(), try io("loss").item(), accuracy: 1e-4)
        let params = Dictionary(uniqueKeysWithValues: encoder.namedParameters().map { ($0.0, $0.1) })
        for (name, reference) in [("pixels", pixels), ("detail", try XCTUnwrap(params["detail.conv.weight"])),
                                  ("stem", try XCTUnwrap(params["embeddings.conv.weight"]))] {
            let expected = try io("grad_" + name).toArray()
            let got = try XCTUnwrap(reference.grad, "no gradient for \(name)").toArray()
            let scale = max(expected.map(abs).max() ?? 0, 1e-12)
            XCTAssertLessThan(maxAbs(got, expected) / scale, 1e-3, "d loss / d \(name)")
        }
    }
}
