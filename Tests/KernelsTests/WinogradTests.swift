import Foundation
import XCTest
import Kernels

/// Winograd F(2×2, 3×3) against the definition (Double) and the im2col path.
///
/// Tolerance: fp32 Winograd rounds differently from a direct sum (the transforms add and halve before the
/// products), so results are compared by max abs error relative to the output's scale:
/// max |winograd − reference| ≤ 1e-5 · max(1, max |reference|). Measured errors are ~1e-7 of the scale at
/// these sizes; im2col's are of the same order.
final class WinogradTests: XCTestCase {
    static let tolerance: Float = 1e-5

    private func shape(_ n: Int, _ cin: Int, _ cout: Int, _ h: Int, _ w: Int) -> Conv2dShape {
        Conv2dShape(batch: n, inChannels: cin, outChannels: cout, height: h, width: w, kernelHeight: 3, kernelWidth: 3,
                    stride: 1, padding: 1)
    }

    /// Odd and even sizes, 1×1 images, 1-row/1-column images, channels 1…16, batch 1 and 5.
    private var shapes: [Conv2dShape] {
        [shape(1, 1, 1, 1, 1), shape(5, 3, 2, 1, 1), shape(5, 4, 6, 7, 9), shape(1, 16, 8, 9, 7), shape(5, 8, 16, 8, 8),
         shape(1, 16, 16, 2, 3), shape(5, 1, 16, 5, 1), shape(1, 5, 1, 1, 6), shape(5, 16, 3, 4, 4), shape(1, 2, 7, 3, 3),
         shape(3, 24, 20, 13, 10), shape(2, 32, 32, 16, 16), shape(1, 8, 8, 6, 5)]
    }

    /// Samples per Winograd GEMM × scheduling (and a different im2col group for the weight gradient).
    private let plans = [ConvolutionPlan(group: 1, perCore: true, winograd: true),
                         ConvolutionPlan(group: 1, perCore: true, winograd: true, winogradGroup: 2),
                         ConvolutionPlan(group: 2, perCore: false, winograd: true, winogradGroup: 3),
                         ConvolutionPlan(group: 1, perCore: false, winograd: true),
                         ConvolutionPlan(group: 1, perCore: true, winograd: true, winogradGroup: 16),
                         ConvolutionPlan(group: 1, perCore: true, winograd: true, winogradTile: 4),
                         ConvolutionPlan(group: 2, perCore: false, winograd: true, winogradGroup: 2, winogradTile: 4),
                         ConvolutionPlan(group: 1, perCore: true, winograd: true, winogradGroup: 16, winogradTile: 4),
                         ConvolutionPlan(group: 1, perCore: true, winograd: true, winogradTile: 4, weightGradientTile: 4),
                         ConvolutionPlan(group: 2, perCore: false, winograd: true, winogradGroup: 3, weightGradientTile: 4),
                         ConvolutionPlan(group: 1, perCore: true, winograd: true, winogradGroup: 16, winogradTile: 4,
                                         weightGradientTile: 4)]

    /// F(4×4, 3×3)'s transforms have coefficients up to 8 and ⅙, so it rounds more than F(2×2) (measured
    /// ≤ ~4e-6 of the output scale here, against ~1e-7).
    private func tolerance(_ plan: ConvolutionPlan) -> Float { plan.winogradTile == 4 ? 2e-5 : Self.tolerance }

    // MARK: Helpers (references in ConvolutionReference.swift)

    private func maxError(_ a: [Float], _ reference: [Float]) -> Float {
        XCTAssertEqual(a.count, reference.count)
        var err: Float = 0, scale: Float = 1
        for i in 0..<a.count {
            err = max(err, abs(a[i] - reference[i]))
            scale = max(scale, abs(reference[i]))
        }
        return err.isNaN ? .infinity : err / scale
    }

    private func forward(_ s: Conv2dShape, _ plan: ConvolutionPlan, _ x: [Float], _ w: [Float], _ b: [Float]?) -> [Float] {
        var out = [Float](repeating: .nan, count: s.batch * s.outChannels * s.outPlane)
        out.withUnsafeMutableBufferPointer { o in
            if let b {
                ConvolutionKernels.forward(x, weight: w, bias: b, o.baseAddress!, shape: s, plan: plan)
            } else {
                ConvolutionKernels.forward(x, weight: w, bias: nil, o.baseAddress!, shape: s, plan: plan)
            }
        }
        return out
    }

    private func backward(_ s: Conv2dShape, _ plan: ConvolutionPlan, _ x: [Float], _ w: [Float], _ g: [Float])
        -> (dx: [Float], dw: [Float], db: [Float]) {
        var dx = [Float](repeating: .nan, count: x.count), dw = [Float](repeating: .nan, count: w.count)
        var db = [Float](repeating: .nan, count: s.outChannels)
        dx.withUnsafeMutableBufferPointer { dxp in
            dw.withUnsafeMutableBufferPointer { dwp in
                db.withUnsafeMutableBufferPointer { dbp in
                    ConvolutionKernels.backward(x, weight: w, g, dx: dxp.baseAddress!, dWeight: dwp.baseAddress!,
                                                dBias: dbp.baseAddress!, shape: s, plan: plan)
                }
            }
        }
        return (dx, dw, db)
    }

    private func inputs(_ s: Conv2dShape, _ rng: inout RNG) -> (x: [Float], w: [Float], b: [Float], g: [Float]) {
        (rng.normal(count: s.batch * s.inChannels * s.inPlane), rng.normal(count: s.outChannels * s.patch, std: 0.3),
         rng.normal(count: s.outChannels), rng.normal(count: s.batch * s.outChannels * s.outPlane))
    }

    // MARK: Tests

    func testForwardMatchesDefinition() {
        var rng = RNG(seed: 61)
        for s in shapes {
            let (x, w, b, _) = inputs(s, &rng)
            for bias in [b, nil] {
                let expected = ConvolutionReference.forward(x, w, bias, s)
                for plan in plans {
                    let err = maxError(forward(s, plan, x, w, bias), expected)
                    XCTAssertLessThanOrEqual(err, tolerance(plan), "\(s) \(plan) bias \(bias != nil)")
                    if ProcessInfo.processInfo.environment["T2I_PRINT_ERRORS"] != nil { print("forward", s, plan, err) }
                }
            }
            // The kernel called directly, without a plan, agrees with the dispatch.
            var direct = [Float](repeating: .nan, count: s.batch * s.outChannels * s.outPlane)
            direct.withUnsafeMutableBufferPointer { o in
                WinogradKernels.forward(x, weight: w, bias: b, o.baseAddress!, shape: s, plan: plans[0])
            }
            XCTAssertEqual(direct, forward(s, plans[0], x, w, b), "\(s) direct")
        }
    }

    func testDataGradientMatchesDefinitionAndIm2col() {
        var rng = RNG(seed: 62)
        for s in shapes {
            let (x, w, _, g) = inputs(s, &rng)
            let expected = ConvolutionReference.dataGradient(g, w, s)
            let im2col = backward(s, ConvolutionPlan(group: 1, perCore: true), x, w, g)
            XCTAssertLessThanOrEqual(maxError(im2col.dx, expected), Self.tolerance, "\(s) im2col dx")
            for plan in plans {
                let r = backward(s, plan, x, w, g)
                XCTAssertLessThanOrEqual(maxError(r.dx, expected), tolerance(plan), "\(s) \(plan) dx")
                // dBias is the same channel sum on both paths: identical results.
                var same = plan
                same.winograd = false
                let ref = backward(s, same, x, w, g)
                XCTAssertEqual(r.db, ref.db, "\(s) \(plan) db")
            }
        }
    }

    /// dWeight by Winograd (dU = Σ_t (A dY Aᵀ) ⊙ V, dW = Gᵀ dU G) against the Double definition and the im2col
    /// path. It sums over N·H·W products through differently rounded transforms, so the tolerance is looser
    /// than the forward's: max |winograd − reference| ≤ 1e-4 · max(1, max |reference|).
    func testWeightGradientMatchesDefinitionAndIm2col() {
        let tolerance: Float = 1e-4
        var rng = RNG(seed: 66)
        for s in shapes + [shape(16, 32, 24, 8, 8), shape(3, 24, 40, 15, 11)] {
            let (x, w, _, g) = inputs(s, &rng)
            let expected = ConvolutionReference.weightGradient(x, g, s)
            let im2col = backward(s, ConvolutionPlan(group: 1, perCore: true), x, w, g)
            XCTAssertLessThanOrEqual(maxError(im2col.dw, expected), tolerance, "\(s) im2col dw")
            for plan in plans {
                let r = backward(s, plan, x, w, g)
                XCTAssertLessThanOrEqual(maxError(r.dw, expected), tolerance, "\(s) \(plan) dw")
                if ProcessInfo.processInfo.environment["T2I_PRINT_ERRORS"] != nil { print("dw", s, plan, maxError(r.dw, expected)) }
                XCTAssertLessThanOrEqual(maxError(r.dw, im2col.dw), tolerance, "\(s) \(plan) dw vs im2col")
                // Without dx and dBias, and the kernel called directly: the same bits.
                var alone = [Float](repeating: .nan, count: w.count)
                alone.withUnsafeMutableBufferPointer { p in
                    ConvolutionKernels.backward(x, weight: w, g, dx: nil, dWeight: p.baseAddress!, dBias: nil,
                                                shape: s, plan: plan)
                }
                XCTAssertEqual(alone, r.dw, "\(s) \(plan) dw alone")
                var direct = [Float](repeating: .nan, count: w.count)
                direct.withUnsafeMutableBufferPointer { p in
                    WinogradKernels.backwardWeight(x, g, p.baseAddress!, shape: s, plan: plan)
                }
                XCTAssertEqual(direct, r.dw, "\(s) \(plan) dw direct")
            }
        }
        // An empty batch gives a zero gradient.
        let empty = shape(0, 3, 2, 5, 5)
        var dw = [Float](repeating: .nan, count: 2 * 3 * 9)
        dw.withUnsafeMutableBufferPointer { p in
            WinogradKernels.backwardWeight([], [], p.baseAddress!, shape: empty, plan: plans[0])
        }
        XCTAssertEqual(dw, [Float](repeating: 0, count: dw.count))
    }

    /// The backward is the adjoint of the forward: Σ g·(conv(x) − b) = Σ dx·x = Σ dw·w, with Winograd on.
    func testAdjointWithWinograd() {
        var rng = RNG(seed: 63)
        for s in shapes {
            let (x, w, b, g) = inputs(s, &rng)
            for plan in plans {
                let out = forward(s, plan, x, w, b)
                let r = backward(s, plan, x, w, g)
                var lhs = 0.0, viaX = 0.0, viaW = 0.0
                for i in 0..<g.count { lhs += Double(g[i]) * Double(out[i] - b[(i / s.outPlane) % s.outChannels]) }
                for i in 0..<x.count { viaX += Double(r.dx[i]) * Double(x[i]) }
                for i in 0..<w.count { viaW += Double(r.dw[i]) * Double(w[i]) }
                XCTAssertEqual(viaX, lhs, accuracy: 1e-3 * max(1, abs(lhs)), "\(s) \(plan) dx adjoint")
                XCTAssertEqual(viaW, lhs, accuracy: 1e-3 * max(1, abs(lhs)), "\(s) \(plan) dw adjoint")
            }
        }
    }

    /// Static assignment of samples to workers: bit-identical results on every run.
    func testWinogradIsDeterministic() {
        var rng = RNG(seed: 64)
        for s in [shape(7, 8, 8, 8, 8), shape(9, 24, 16, 9, 7)] {
            let (x, w, b, g) = inputs(s, &rng)
            for plan in plans {
                let out = forward(s, plan, x, w, b), grads = backward(s, plan, x, w, g)
                for _ in 0..<3 {
                    XCTAssertEqual(forward(s, plan, x, w, b), out)
                    let again = backward(s, plan, x, w, g)
                    XCTAssertEqual(again.dx, grads.dx)
                    XCTAssertEqual(again.dw, grads.dw)
                }
            }
        }
    }

    /// Shapes Winograd does not cover fall back to im2col even when the plan asks for Winograd.
    func testUnsupportedShapesIgnoreTheFlag() {
        var rng = RNG(seed: 65)
        let others = [
            Conv2dShape(batch: 3, inChannels: 4, outChannels: 5, height: 9, width: 7, kernelHeight: 3, kernelWidth: 3,
                        stride: 2, padding: 1),
            Conv2dShape(batch: 3, inChannels: 4, outChannels: 5, height: 6, width: 6, kernelHeight: 1, kernelWidth: 1),
            Conv2dShape(batch: 2, inChannels: 3, outChannels: 2, height: 6, width: 5, kernelHeight: 3, kernelWidth: 3),
        ]
        for s in others {
            XCTAssertFalse(WinogradKernels.supports(s))
            let (x, w, b, g) = inputs(s, &rng)
            let on = ConvolutionPlan(group: 1, perCore: true, winograd: true), off = ConvolutionPlan(group: 1, perCore: true)
            XCTAssertEqual(forward(s, on, x, w, b), forward(s, off, x, w, b), "\(s)")
            XCTAssertEqual(backward(s, on, x, w, g).dx, backward(s, off, x, w, g).dx, "\(s)")
        }
    }
}
