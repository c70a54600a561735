import XCTest
import Autograd

/// Backward adds a tensor's gradient contributions in place when it owns the buffer. An add hands its output's
/// gradient to both operands as one object; that object must then count as shared, or two parameters end up
/// with one gradient buffer and the next accumulation (a second micro-batch, or clipping) changes both.
final class GradientOwnershipTests: XCTestCase {
    func testTwoParametersAddedTogetherKeepSeparateGradients() {
        for variant in 0..<8 {
            let x = Tensor(shape: [4], data: [1, 2, 3, 4], requiresGrad: true)
            let z = Tensor(shape: [4], data: [1, 2, 3, 4], requiresGrad: true)
            let s = variant & 1 == 0 ? x + z : z + x
            // s is used twice, so its gradient is an accumulated sum (the buffer backward owns).
            let d = variant & 2 == 0 ? s * 1 + s : s + s * 1
            (variant & 4 == 0 ? sum(d) : sum(d * 1)).backward()
            XCTAssertEqual(z.grad?.toArray(), [2, 2, 2, 2], "variant \(variant)")
            XCTAssertFalse(x.grad?.storage === z.grad?.storage, "variant \(variant): one buffer for two gradients")
            sum(x * 7).backward()  // a second micro-batch that reaches x only
            XCTAssertEqual(x.grad?.toArray(), [9, 9, 9, 9], "variant \(variant)")
            XCTAssertEqual(z.grad?.toArray(), [2, 2, 2, 2], "variant \(variant): z changed by x's accumulation")
        }
    }

    func testATensorAddedToItselfGetsTwiceTheGradient() {
        let x = Tensor(shape: [3], data: [1, 2, 3], requiresGrad: true)
        let s = x * 1 + x * 1
        sum((s + s) * 1 + (s + s)).backward()
        XCTAssertEqual(x.grad?.toArray(), [8, 8, 8])
    }
}
