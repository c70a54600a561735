import Autograd
import Kernels
import Scoring
import XCTest

/// The PickScore pair loss on hand-worked values, with a tie and per-prompt weights.
final class ScorerLossTests: XCTestCase {
    // Four pairs: scores (first, second), pair 2 a tie, num_example_per_prompt 2, 1, 4, 1.
    let first: [Float] = [2.0, 0.5, 1.0, -0.3]
    let second: [Float] = [1.0, 1.5, 1.25, 0.7]
    let ties = [false, false, true, false]

    func testWeightedLossWithTieMatchesPickScore() throws {
        // PyTorch, PickScore's clip_criterion:
        //   logits = torch.stack([s1, s2], -1)
        //   ce0 = F.cross_entropy(logits, zeros, reduction='none'); ce1 = F.cross_entropy(logits, ones, reduction='none')
        //   rows = label0*ce0 + label1*ce1 + (label0 == label1)*log(0.5)
        //   w = 1/n; w = w/w.sum(); loss = (rows*w).sum()
        // with label0 = [1, 1, .5, 1], n = [2, 1, 4, 1]:
        //   rows = [0.313261688, 1.313261688, 0.007792239, 1.313261688], w = [2/11, 4/11, 1/11, 4/11], loss = 1.012764465
        let loss = try PreferencePairLoss.loss(first: Tensor(shape: [4], data: first), second: Tensor(shape: [4], data: second),
                                               isTie: ties, examplesPerPrompt: [2, 1, 4, 1])
        XCTAssertEqual(loss.item(), 1.012764465, accuracy: 1e-5)
        XCTAssertEqual(PreferencePairLoss.rowWeights([2, 1, 4, 1]), [2.0 / 11, 4.0 / 11, 1.0 / 11, 4.0 / 11])
    }

    func testWithoutTheColumnRowsWeighEqually() throws {
        // Same rows, plain mean: (0.313261688 + 1.313261688 + 0.007792239 + 1.313261688) / 4 = 0.736894325
        let loss = try PreferencePairLoss.loss(first: Tensor(shape: [4], data: first), second: Tensor(shape: [4], data: second),
                                               isTie: ties, examplesPerPrompt: [nil, nil, nil, nil])
        XCTAssertEqual(loss.item(), 0.736894325, accuracy: 1e-5)
    }

    func testTieLossIsZeroAtEqualScores() throws {
        // A tie's target is ½/½: equal scores fit it exactly, and the ln 2 offset makes that loss 0.
        let loss = try PreferencePairLoss.loss(first: Tensor(shape: [1], data: [3]), second: Tensor(shape: [1], data: [3]),
                                               isTie: [true], examplesPerPrompt: [nil])
        XCTAssertEqual(loss.item(), 0, accuracy: 1e-6)
    }

    func testGradientOfBothScores() {
        let r = GradientCheck.run([Tensor(shape: [4], data: first), Tensor(shape: [4], data: second)], epsilon: 1e-2) { x in
            (try? PreferencePairLoss.loss(first: x[0], second: x[1], isTie: self.ties, examplesPerPrompt: [2, 1, 4, nil]))
                ?? Tensor(scalar: .nan)
        }
        XCTAssertLessThan(r.maxError, 1e-3, "\(r)")
    }

    func testBadInputIsATypedError() {
        let s = Tensor(shape: [2], data: [0, 1])
        XCTAssertThrowsError(try PreferencePairLoss.loss(first: s, second: s, isTie: [false], examplesPerPrompt: [nil, nil])) {
            XCTAssertTrue("\($0)".contains("same B > 0 pairs"), "\($0)")
        }
        XCTAssertThrowsError(try PreferencePairLoss.loss(first: s, second: s, isTie: [false, false], examplesPerPrompt: [0, 1])) {
            XCTAssertTrue("\($0)".contains("num_example_per_prompt"), "\($0)")
        }
    }
}
