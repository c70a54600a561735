import XCTest
import Autograd
import Kernels
import Preference

/// The test vectors of specs/objectives.md and finite-difference checks of each loss.
final class ObjectiveTests: XCTestCase {
    private func dpo(_ w: Float, _ l: Float, _ rw: Float, _ rl: Float, beta: Float = 5000) -> DiffusionDPOLoss.Output {
        DiffusionDPOLoss.loss(policyWin: Tensor(shape: [1], data: [w], requiresGrad: true),
                              policyLose: Tensor(shape: [1], data: [l], requiresGrad: true),
                              referenceWin: [rw], referenceLose: [rl], beta: beta)
    }

    func testDPOSpecVectors() {
        XCTAssertEqual(dpo(0.2, 0.2, 0.2, 0.2).loss.item(), 0.693147, accuracy: 1e-6)
        let b = dpo(0.1000, 0.1002, 0.1001, 0.1001)
        XCTAssertEqual(b.inside[0], 0.5, accuracy: 1e-3)   // Float32 inputs: 0.1000 − 0.1002 carries ~1e-8 rounding × 2500
        XCTAssertEqual(b.loss.item(), 0.474077, accuracy: 1e-4)
        let c = dpo(0.10, 0.12, 0.11, 0.11)
        XCTAssertEqual(c.inside[0], 50, accuracy: 1e-3)
        XCTAssertEqual(c.loss.item(), 0, accuracy: 1e-12)
        XCTAssertTrue(c.loss.item().isFinite)
        XCTAssertEqual(c.implicitAccuracy, 1)
    }

    func testDPOAtReferenceIsLn2WithNonZeroGradient() {
        let w = Tensor(shape: [3], data: [0.3, 0.1, 0.5], requiresGrad: true)
        let l = Tensor(shape: [3], data: [0.2, 0.4, 0.5], requiresGrad: true)
        let out = DiffusionDPOLoss.loss(policyWin: w, policyLose: l, referenceWin: w.toArray(), referenceLose: l.toArray())
        XCTAssertEqual(out.loss.item(), 0.693147, accuracy: 1e-6)
        out.loss.backward()
        // At θ = ref the gradient is β/4/B per pair: +625/3 on winners, −625/3 on losers.
        for v in w.grad!.toArray() { XCTAssertEqual(v, 5000.0 / 4 / 3, accuracy: 1e-2) }
        for v in l.grad!.toArray() { XCTAssertEqual(v, -5000.0 / 4 / 3, accuracy: 1e-2) }
    }

    func testDPOGradientCheck() {
        let rw: [Float] = [0.30, 0.21, 0.5], rl: [Float] = [0.31, 0.2, 0.52]
        let w = Tensor(shape: [3], data: [0.3005, 0.2098, 0.501])
        let l = Tensor(shape: [3], data: [0.3101, 0.2003, 0.5195])
        let r = GradientCheck.run([w, l], epsilon: 1e-4) {
            DiffusionDPOLoss.loss(policyWin: $0[0], policyLose: $0[1], referenceWin: rw, referenceLose: rl, beta: 500).loss
        }
        XCTAssertLessThan(r.maxError, 2e-2, "\(r)")
    }

    private func mapo(_ w: Float, _ l: Float) -> Float {
        MaPOLoss.loss(win: Tensor(shape: [1], data: [w]), lose: Tensor(shape: [1], data: [l])).loss.item()
    }

    func testMaPOSpecVectors() {
        XCTAssertEqual(mapo(0.10, 0.12), 0.100736, accuracy: 1e-5)
        XCTAssertEqual(mapo(0.12, 0.10), 0.611570, accuracy: 1e-5)
        XCTAssertEqual(mapo(0.2, 0.2), 0.269315, accuracy: 1e-5)
        XCTAssertEqual(mapo(0.1000, 0.1002), 0.166887, accuracy: 1e-4)
    }

    func testMaPOScoreIsStableNearZero() {
        XCTAssertEqual(MaPOLoss.score(0), 1)
        XCTAssertEqual(MaPOLoss.score(1e-5), 1e-5 / expm1(1e-5), accuracy: 1e-12)
        XCTAssertEqual(MaPOLoss.score(0.5), 0.5 / expm1(0.5), accuracy: 1e-15)
        // The series and the closed form agree at the switch point.
        XCTAssertEqual(MaPOLoss.score(0.99e-4), 0.99e-4 / expm1(0.99e-4), accuracy: 1e-10)
        XCTAssertEqual(MaPOLoss.scoreDerivative(0.99e-4), MaPOLoss.scoreDerivative(1.01e-4), accuracy: 1e-6)
    }

    func testMaPOGradientCheck() {
        let w = Tensor(shape: [3], data: [0.10, 0.30, 0.25])
        let l = Tensor(shape: [3], data: [0.1004, 0.2995, 0.27])
        let r = GradientCheck.run([w, l], epsilon: 1e-4) { MaPOLoss.loss(win: $0[0], lose: $0[1]).loss }
        XCTAssertLessThan(r.maxError, 2e-2, "\(r)")
    }
}
