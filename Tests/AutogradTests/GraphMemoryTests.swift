import XCTest
import Autograd

/// What the graph keeps alive: as in PyTorch, only what backward functions save. An activation that no
/// backward needs is freed in the forward pass, and each op's saved tensors are freed as backward passes it.
final class GraphMemoryTests: XCTestCase {
    /// h = x·w; y = h + 1; z = y + b. Neither add needs its operands, so once the caller drops h and y
    /// their storage is gone while the graph from z still reaches w and b with the right gradients.
    func testActivationsNoBackwardNeedsAreFreedInTheForwardPass() {
        let w = Tensor(shape: [4], data: [1, 2, 3, 4], requiresGrad: true)
        let b = Tensor(shape: [4], data: [0.5, 0.5, 0.5, 0.5], requiresGrad: true)
        let x = Tensor(shape: [4], data: [2, -1, 0.5, 3])
        weak var hStorage: Storage?, yStorage: Storage?
        let z: Tensor = {
            let h = x * w
            let y = h + 1
            hStorage = h.storage
            yStorage = y.storage
            return y + b
        }()
        XCTAssertNil(yStorage, "the input of an add is not saved for backward")
        XCTAssertNil(hStorage, "h is only an add's input")
        sum(z * z).backward()
        // d/dw Σ (x·w + 1 + b)² = 2 (x·w + 1 + b) · x; d/db = 2 (x·w + 1 + b).
        let zs = (0..<4).map { Float([2, -1, 0.5, 3][$0] * Float($0 + 1) + 1.5) }
        XCTAssertEqual(w.grad?.toArray(), zs.enumerated().map { 2 * $0.element * [2, -1, 0.5, 3][$0.offset] })
        XCTAssertEqual(b.grad?.toArray(), zs.map { 2 * $0 })
    }

    /// A multiplication needs its operands: they stay alive until backward has passed the product.
    func testSavedTensorsLiveUntilTheirBackwardRan() {
        let w = Tensor(shape: [3], data: [1, 2, 3], requiresGrad: true)
        weak var saved: Storage?
        let loss: Tensor = {
            let h = w * 2
            saved = h.storage
            return sum(h * h)
        }()
        XCTAssertNotNil(saved, "h is saved by h * h")
        loss.backward()
        XCTAssertNil(saved, "backward frees what an op saved once it has run")
        XCTAssertEqual(w.grad?.toArray(), [8, 16, 24])  // d/dw Σ (2w)² = 8w
    }

    /// An op output whose graph a backward pass consumed is a leaf of the next graph (PyTorch's rule), and
    /// a leaf nobody holds any more is skipped instead of crashing.
    func testConsumedOutputsBecomeLeavesAndDroppedLeavesAreSkipped() {
        let w = Tensor(shape: [2], data: [1, -2], requiresGrad: true)
        let h = w * 3
        sum(h).backward()
        XCTAssertEqual(w.grad?.toArray(), [3, 3])
        XCTAssertTrue(h.isLeaf)
        sum(h * h).backward()
        XCTAssertEqual(h.grad?.toArray(), [6, -12])
        XCTAssertEqual(w.grad?.toArray(), [3, 3], "the first graph is gone: w gets nothing more")

        weak var dropped: Tensor?
        let loss: Tensor = {
            let temporary = Tensor(shape: [2], data: [1, 2], requiresGrad: true)
            dropped = temporary
            return sum(temporary + w)  // the add saves neither operand
        }()
        XCTAssertNil(dropped)
        w.zeroGrad()
        loss.backward()
        XCTAssertEqual(w.grad?.toArray(), [1, 1])
    }

    /// On a small network the graph after the forward pass holds fewer bytes than every activation made.
    func testPeakMemoryOfAResidualStackIsBelowAllActivations() {
        let n = 1 << 16
        let w = Tensor(shape: [n], data: [Float](repeating: 0.5, count: n), requiresGrad: true)
        let before = Storage.liveBytes
        var h = Tensor(shape: [n], data: [Float](repeating: 1, count: n))
        for _ in 0..<8 { h = h + h * w }  // each step: a product (saved by nothing) and a sum (saved by the next product)
        let held = Storage.liveBytes - before
        // 16 activations of n floats were made; the graph keeps the 8 sums (inputs of the next product),
        // not the 8 products.
        XCTAssertLessThanOrEqual(held, 9 * n * 4)
        XCTAssertGreaterThanOrEqual(held, 8 * n * 4)
        sum(h).backward()
        XCTAssertEqual(w.grad?.count, n)
    }
}
