import Kernels
import XCTest

/// The one-pass exact-GELU GEGLU backward against the same formulas through the separate GELU kernels:
/// dhidden = dy·gelu(gate), dgate = (dy·hidden)·gelu′(gate), bit for bit, with saturated gates (±40),
/// ±∞ and rows whose length is not a multiple of the 16-wide vectors.
final class GEGLUKernelTests: XCTestCase {
    func testFusedExactBackwardEqualsTheSeparateKernels() {
        var rng = RNG(seed: 11)
        for (rows, half) in [(3, 37), (2, 16), (1, 5), (4, 64)] {
            var x = [Float](repeating: 0, count: rows * 2 * half), dy = [Float](repeating: 0, count: rows * half)
            x.withUnsafeMutableBufferPointer { rng.fillNormal($0.baseAddress!, count: $0.count, std: 3) }
            dy.withUnsafeMutableBufferPointer { rng.fillNormal($0.baseAddress!, count: $0.count) }
            let specials: [Float] = [40, -40, 29.5, -31, .infinity, -.infinity, 0]
            for (k, v) in specials.enumerated() where k < half { x[half + k] = v }   // gates of row 0
            var fused = [Float](repeating: .nan, count: x.count)
            ActivationKernels.gegluBackward(x, dy, &fused, rows: rows, half: half, tanhApproximation: false)

            var expected = [Float](repeating: .nan, count: x.count)
            for r in 0..<rows {
                let hidden = Array(x[(r * 2 * half)..<(r * 2 * half + half)])
                let gate = Array(x[(r * 2 * half + half)..<((r + 1) * 2 * half)])
                let g = Array(dy[(r * half)..<((r + 1) * half)])
                var gelu = [Float](repeating: 0, count: half), dGate = gelu
                ActivationKernels.geluForward(gate, &gelu, count: half, tanhApproximation: false)
                let gTimesHidden = zip(g, hidden).map { $0 * $1 }
                ActivationKernels.geluBackward(gate, gTimesHidden, &dGate, count: half, tanhApproximation: false)
                for i in 0..<half {
                    expected[r * 2 * half + i] = g[i] * gelu[i]
                    expected[r * 2 * half + half + i] = dGate[i]
                }
            }
            XCTAssertEqual(fused.map(\.bitPattern), expected.map(\.bitPattern), "rows \(rows) half \(half)")
        }
    }
}
