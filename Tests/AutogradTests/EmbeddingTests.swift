import XCTest
import Autograd
import Kernels

final class EmbeddingTests: XCTestCase {
    // table = torch.arange(18).float().reshape(6, 3) / 4; ids = torch.tensor([[1, 5, 0], [5, 2, 2]])
    private let table = Tensor(shape: [6, 3], data: (0..<18).map { Float($0) / 4 })
    private let ids: [Int32] = [1, 5, 0, 5, 2, 2]

    func testReferenceValues() {
        let y = embedding(ids: ids, shape: [2, 3], table: table)
        XCTAssertEqual(y.shape, [2, 3, 3])
        // F.embedding(ids, table).flatten()
        XCTAssertEqual(y.toArray(), [0.75, 1, 1.25, 3.75, 4, 4.25, 0, 0.25, 0.5, 3.75, 4, 4.25, 1.5, 1.75, 2, 1.5, 1.75, 2])
        XCTAssertEqual(embedding(ids: ids, table: table).shape, [6, 3])
    }

    func testGradientScattersAndAccumulatesRepeats() throws {
        // With upstream gradient g = torch.arange(18).float().reshape(2, 3, 3), torch gives
        // table.grad = [[6, 7, 8], [0, 1, 2], [27, 29, 31], [0, 0, 0], [0, 0, 0], [12, 14, 16]].
        let t = Tensor(shape: [6, 3], data: table.toArray(), requiresGrad: true)
        embedding(ids: ids, shape: [2, 3], table: t).backward(Tensor(shape: [2, 3, 3], data: (0..<18).map(Float.init)))
        XCTAssertEqual(try XCTUnwrap(t.grad).toArray(), [6, 7, 8, 0, 1, 2, 27, 29, 31, 0, 0, 0, 0, 0, 0, 12, 14, 16])
    }

    func testGradientCheck() {
        var rng = RNG(seed: 41)
        let t = Tensor.randn([7, 19], rng: &rng)   // dim 19: SIMD body and tail in the scatter-add
        let r = GradientCheck.run([t]) { embedding(ids: [3, 0, 3, 6, 6, 6, 1, 3], shape: [2, 4], table: $0[0]) }
        XCTAssertLessThan(r.maxError, 1e-2, "\(r)")
    }

    func testEmptyIds() {
        let y = embedding(ids: [], shape: [0, 4], table: table)
        XCTAssertEqual(y.shape, [0, 4, 3])
    }
}
