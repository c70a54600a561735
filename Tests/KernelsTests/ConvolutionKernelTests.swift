import XCTest
import Kernels

/// Every way of cutting a convolution into GEMMs must compute the same thing as the definition
/// (`ConvolutionReference`).
final class ConvolutionKernelTests: XCTestCase {
    private func run(_ s: Conv2dShape, _ plan: ConvolutionPlan, _ x: [Float], _ w: [Float], _ b: [Float], _ g: [Float])
        -> (out: [Float], dx: [Float], dw: [Float], db: [Float]) {
        var out = [Float](repeating: .nan, count: s.batch * s.outChannels * s.outPlane)
        var dx = [Float](repeating: .nan, count: x.count), dw = [Float](repeating: .nan, count: w.count)
        var db = [Float](repeating: .nan, count: b.count)
        out.withUnsafeMutableBufferPointer { o in
            ConvolutionKernels.forward(x, weight: w, bias: b, o.baseAddress!, shape: s, plan: plan)
        }
        dx.withUnsafeMutableBufferPointer { dxp in
            dw.withUnsafeMutableBufferPointer { dwp in
                db.withUnsafeMutableBufferPointer { dbp in
                    ConvolutionKernels.backward(x, weight: w, g, dx: dxp.baseAddress!, dWeight: dwp.baseAddress!,
                                                dBias: dbp.baseAddress!, shape: s, plan: plan)
                }
            }
        }
        return (out, dx, dw, db)
    }

    private func maxRelative(_ a: [Float], _ b: [Float]) -> Float {
        var m: Float = 0
        for i in 0..<a.count { m = max(m, abs(a[i] - b[i]) / max(1, abs(b[i]))) }
        return m
    }

    func testPlansAgreeWithDefinition() {
        var rng = RNG(seed: 51)
        let shapes = [
            Conv2dShape(batch: 5, inChannels: 8, outChannels: 16, height: 8, width: 8, kernelHeight: 3, kernelWidth: 3,
                        stride: 1, padding: 1),
            Conv2dShape(batch: 5, inChannels: 8, outChannels: 8, height: 9, width: 7, kernelHeight: 3, kernelWidth: 3,
                        stride: 2, padding: 1),
            Conv2dShape(batch: 5, inChannels: 16, outChannels: 8, height: 6, width: 6, kernelHeight: 1, kernelWidth: 1),
            Conv2dShape(batch: 3, inChannels: 4, outChannels: 6, height: 5, width: 8, kernelHeight: 2, kernelWidth: 3,
                        stride: 1, padding: 2),
        ]
        let plans = [ConvolutionPlan(group: 1, perCore: true), ConvolutionPlan(group: 2, perCore: true),
                     ConvolutionPlan(group: 1, perCore: false), ConvolutionPlan(group: 3, perCore: false),
                     ConvolutionPlan(group: 8, perCore: false), ConvolutionPlan.automatic(for: shapes[0]),
                     // Winograd F(2×2, 3×3) for the 3×3 stride-1 shape (the others ignore the flag).
                     ConvolutionPlan(group: 1, perCore: true, winograd: true),
                     ConvolutionPlan(group: 1, perCore: false, winograd: true, winogradGroup: 4)]
        for s in shapes {
            let x = rng.normal(count: s.batch * s.inChannels * s.inPlane)
            let w = rng.normal(count: s.outChannels * s.patch, std: 0.3)
            let b = rng.normal(count: s.outChannels)
            let g = rng.normal(count: s.batch * s.outChannels * s.outPlane)
            let expected = ConvolutionReference.forward(x, w, b, s)
            let base = run(s, plans[0], x, w, b, g)
            XCTAssertLessThan(maxRelative(base.out, expected), 1e-4, "\(s) forward")
            // Backward through the adjoint identity <dout, conv(x)> = <dx, x> + <dw, w> + <db, 1>·… for a
            // linear map without bias: Σ g·(out − b) = Σ dx·x = Σ dw·w.
            var lhs = 0.0, viaX = 0.0, viaW = 0.0
            for i in 0..<g.count { lhs += Double(g[i]) * Double(base.out[i] - b[(i / s.outPlane) % s.outChannels]) }
            for i in 0..<x.count { viaX += Double(base.dx[i]) * Double(x[i]) }
            for i in 0..<w.count { viaW += Double(base.dw[i]) * Double(w[i]) }
            XCTAssertEqual(viaX, lhs, accuracy: 1e-3 * max(1, abs(lhs)), "\(s) dx adjoint")
            XCTAssertEqual(viaW, lhs, accuracy: 1e-3 * max(1, abs(lhs)), "\(s) dw adjoint")
            for plan in plans.dropFirst() {
                let r = run(s, plan, x, w, b, g)
                XCTAssertLessThan(maxRelative(r.out, base.out), 1e-5, "\(s) \(plan) out")
                XCTAssertLessThan(maxRelative(r.dx, base.dx), 1e-5, "\(s) \(plan) dx")
                XCTAssertLessThan(maxRelative(r.dw, base.dw), 1e-4, "\(s) \(plan) dw")
                XCTAssertLessThan(maxRelative(r.db, base.db), 1e-5, "\(s) \(plan) db")
            }
        }
    }

    /// Training runs must be reproducible: the multi-worker weight-gradient sum is bit-identical across runs.
    func testBackwardIsDeterministic() {
        var rng = RNG(seed: 52)
        let s = Conv2dShape(batch: 7, inChannels: 8, outChannels: 8, height: 8, width: 8, kernelHeight: 3, kernelWidth: 3,
                            stride: 1, padding: 1)
        let x = rng.normal(count: s.batch * s.inChannels * s.inPlane), w = rng.normal(count: s.outChannels * s.patch)
        let b = rng.normal(count: s.outChannels), g = rng.normal(count: s.batch * s.outChannels * s.outPlane)
        let plan = ConvolutionPlan(group: 1, perCore: true)
        let first = run(s, plan, x, w, b, g)
        for _ in 0..<5 {
            let again = run(s, plan, x, w, b, g)
            XCTAssertEqual(again.dw, first.dw)
            XCTAssertEqual(again.dx, first.dx)
        }
    }
}
