import Foundation
import XCTest
import Autograd
import Kernels

final class SoftmaxTests: XCTestCase {
    private func assertClose(_ actual: [Float], _ expected: [Double], _ tolerance: Double, _ name: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, name, file: file, line: line)
        for (i, (a, e)) in zip(actual, expected).enumerated() {
            XCTAssertEqual(Double(a), e, accuracy: tolerance, "\(name)[\(i)]", file: file, line: line)
        }
    }

    // x = ((torch.arange(24) * 7) % 23 - 11).double().reshape(2, 3, 4) / 2
    private let x = Tensor(shape: [2, 3, 4], data: (0..<24).map { Float((($0 * 7) % 23) - 11) / 2 })

    func testLastAxisReferenceValues() {
        // F.softmax(x, -1)
        assertClose(softmax(x).toArray(),
                    [2.67049428e-05, 0.000884346252, 0.0292855258, 0.969803423, 0.00088408224, 0.0292767829,
                     0.969513899, 0.00032523568, 0.028990179, 0.960022878, 0.000322051798, 0.0106648908,
                     0.028990179, 0.960022878, 0.000322051798, 0.0106648908, 0.724992875, 0.000243208015,
                     0.00805394334, 0.266709974, 0.00088408224, 0.0292767829, 0.969513899, 0.00032523568], 1e-6, "softmax -1")
    }

    func testMiddleAxisReferenceValues() {
        // F.softmax(x, 1)
        assertClose(softmax(x, axis: 1).toArray(),
                    [0.00618828527, 0.00618828527, 0.0758495295, 0.998375793, 0.075388748, 0.075388748, 0.924036435,
                     0.000123209361, 0.918422967, 0.918422967, 0.000114035155, 0.0015009973, 0.0758495295,
                     0.998375793, 0.00618828527, 0.0758495295, 0.924036435, 0.000123209361, 0.075388748, 0.924036435,
                     0.000114035155, 0.0015009973, 0.918422967, 0.000114035155], 1e-6, "softmax 1")
    }

    func testLargeLogitsDoNotOverflow() {
        // F.softmax(x * 200, -1): logits up to ±1100
        let big = Tensor(shape: [2, 3, 4], data: x.toArray().map { $0 * 200 })
        assertClose(softmax(big).toArray(),
                    [0, 0, 9.85967654e-305, 1, 0, 9.85967654e-305, 1, 0, 9.85967654e-305, 1, 0, 0, 9.85967654e-305, 1,
                     0, 0, 1, 0, 0, 1.38389653e-87, 0, 9.85967654e-305, 1, 0], 1e-7, "softmax of large logits")
    }

    func testGradients() {
        var rng = RNG(seed: 31)
        let a = Tensor.randn([3, 4, 5], rng: &rng, std: 2)
        for axis in [-1, 0, 1] {
            let r = GradientCheck.run([a]) { softmax($0[0], axis: axis) }
            XCTAssertLessThan(r.maxError, 1e-2, "axis \(axis): \(r)")
        }
        // Rows of 37 (SIMD body + −∞-padded tail) and 37 strided columns.
        let b = Tensor.randn([2, 3, 37], rng: &rng, std: 2)
        for axis in [-1, 1] {
            let r = GradientCheck.run([b]) { softmax($0[0], axis: axis) }
            XCTAssertLessThan(r.maxError, 1e-2, "[2, 3, 37] axis \(axis): \(r)")
        }
    }

    /// Rows of every length 1…40 sum to 1 and match a Double softmax.
    func testRowLengths() {
        var rng = RNG(seed: 32)
        for n in 1...40 {
            let v = Tensor.randn([2, n], rng: &rng, std: 3)
            let y = softmax(v).toArray(), xs = v.toArray().map(Double.init)
            for r in 0..<2 {
                let row = xs[r * n..<(r + 1) * n]
                let m = row.max() ?? 0
                let z = row.map { Foundation.exp($0 - m) }.reduce(0, +)
                for (j, xv) in row.enumerated() {
                    XCTAssertEqual(Double(y[r * n + j]), Foundation.exp(xv - m) / z, accuracy: 1e-6, "n \(n)")
                }
            }
        }
    }
}
