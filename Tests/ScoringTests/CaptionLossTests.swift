import Autograd
import Kernels
import Scoring
import ShapesWorld
import XCTest

/// The caption contrastive loss (CLIP's, with duplicate captions sharing the target and hard negatives).
final class CaptionLossTests: XCTestCase {
    // Unit rows (already normalised), from the PyTorch reference below.
    let images = Tensor(shape: [3, 2], data: [1, 0, 0.6, 0.8, 0, 1])
    let captions = Tensor(shape: [3, 2], data: [0.8, 0.6, 0, 1, 0.70710678, 0.70710678])
    let negatives = Tensor(shape: [2, 2], data: [-0.89442719, 0.44721360, 0.31622777, 0.94868330])
    let texts = ["a", "b", "a"]

    func testMatchesTorch() throws {
        // PyTorch: tgt(rows, cols)[i, j] = 1/#hits when cols[j] == rows[i]; scale = 2
        //   logits = scale * I @ T.T
        //   cols = F.cross_entropy(logits.T, tgt(texts, texts), reduction='none').mean()
        //   rows = F.cross_entropy(torch.cat([logits, scale * I @ N.T], 1), tgt(texts, texts + ["c", "b"]), reduction='none').mean()
        //   (rows + cols) / 2 = 1.33492919; without negatives (rows over logits only) 1.19437015
        let withNegatives = try CaptionContrastiveLoss.loss(images: images, captions: captions, texts: texts, negatives: negatives,
                                                            negativeTexts: ["c", "b"], scale: 2)
        XCTAssertEqual(withNegatives.item(), 1.33492919, accuracy: 1e-5)
        let plain = try CaptionContrastiveLoss.loss(images: images, captions: captions, texts: texts, scale: 2)
        XCTAssertEqual(plain.item(), 1.19437015, accuracy: 1e-5)
    }

    func testDuplicateCaptionsShareTheTarget() {
        XCTAssertEqual(CaptionContrastiveLoss.targetMatrix(["a", "b", "a"], ["a", "b", "a", "c", "b"]),
                       [0.5, 0, 0.5, 0, 0,
                        0, 0.5, 0, 0, 0.5,
                        0.5, 0, 0.5, 0, 0])
    }

    func testGradientOfEveryInput() {
        let r = GradientCheck.run([images.copy(), captions.copy(), negatives.copy()], epsilon: 1e-2) { x in
            (try? CaptionContrastiveLoss.loss(images: x[0], captions: x[1], texts: self.texts, negatives: x[2],
                                              negativeTexts: ["c", "b"], scale: 2)) ?? Tensor(scalar: .nan)
        }
        XCTAssertLessThan(r.maxError, 1e-3, "\(r)")
    }

    func testMismatchedInputsAreTypedErrors() {
        XCTAssertThrowsError(try CaptionContrastiveLoss.loss(images: images, captions: captions, texts: ["a"], scale: 2)) {
            XCTAssertTrue($0 is ScorerError, "\($0)")
        }
    }

    func testHardNegativesChangeExactlyOneAttribute() throws {
        var rng = RNG(seed: 11)
        let caption = "a large red circle at the top left on a blue background"
        let truth = try ShapesPrompt(parsing: caption)
        let negatives = try XCTUnwrap(HardNegativeCaptions.oneAttributeOff(caption, count: 40, rng: &rng))
        XCTAssertEqual(negatives.count, 40)
        var changed = Set<String>()
        for n in negatives {
            let p = try ShapesPrompt(parsing: n)
            let diffs = [("shape", p.shape != truth.shape), ("colour", p.colour != truth.colour),
                         ("background", p.background != truth.background), ("size", p.size != truth.size),
                         ("position", p.position != truth.position)].filter(\.1).map(\.0)
            XCTAssertEqual(diffs.count, 1, n)
            changed.formUnion(diffs)
        }
        XCTAssertEqual(changed, ["shape", "colour", "background", "size", "position"], "every attribute gets perturbed")
        XCTAssertNil(HardNegativeCaptions.oneAttributeOff("a photo of a cat", count: 2, rng: &rng))
    }
}
