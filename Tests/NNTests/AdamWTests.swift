import Autograd
import Foundation
import NN
import XCTest

final class AdamWTests: XCTestCase {
    /// Three parameters ("0": [37] — SIMD blocks and a tail —, "1": [2, 3], "2": [4]) and five steps
    /// with a changing learning rate; parameter "2" has no gradient at step 2.
    private func makeParameters() -> [Tensor] {
        [Tensor(shape: [37], data: cosValues(37, offset: 0), requiresGrad: true),
         Tensor(shape: [2, 3], data: cosValues(6, offset: 1), requiresGrad: true),
         Tensor(shape: [4], data: cosValues(4, offset: 2), requiresGrad: true)]
    }

    private func runSteps(_ range: Range<Int>, _ params: [Tensor], _ opt: AdamW) {
        for k in range {
            for (j, p) in params.enumerated() {
                p.grad = Tensor(shape: p.shape, data: sinValues(p.count, offset: Double(k + j)))
            }
            if k == 2 { params[2].grad = nil }
            opt.lr = 1e-2 * (1 - 0.1 * Double(k))
            opt.step()
        }
    }

    private let hyper = AdamW.Hyperparameters(lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1)

    /// Reference: torch 2.13.0 (CPU), printed with repr(float(x)):
    ///
    ///     shapes = {"a": [37], "b": [2, 3], "c": [4]}
    ///     params = {n: torch.tensor([math.cos(i * 0.11 + j) for i in range(math.prod(s))],
    ///                               dtype=torch.float32).reshape(s).requires_grad_()
    ///               for j, (n, s) in enumerate(shapes.items())}
    ///     opt = torch.optim.AdamW(list(params.values()), lr=1e-2, betas=(0.9, 0.999), eps=1e-8,
    ///                             weight_decay=0.1, foreach=False)
    ///     for k in range(5):
    ///         for j, (n, p) in enumerate(params.items()):
    ///             p.grad = torch.tensor([math.sin(i * 0.37 + k + j) for i in range(p.numel())],
    ///                                   dtype=torch.float32).reshape(p.shape)
    ///         if k == 2: params["c"].grad = None
    ///         opt.param_groups[0]["lr"] = 1e-2 * (1 - 0.1 * k)
    ///         opt.step()
    ///     # params after the loop, and opt.state[params["c"]]["exp_avg_sq"] (its step is 4)
    func testMatchesTorchAdamW() {
        let params = makeParameters()
        let opt = AdamW(parameters: params, hyperparameters: hyper)
        runSteps(0..<5, params, opt)

        let a: [Float] = [0.9754838943481445, 0.9586365222930908, 0.9425721168518066, 0.9163145422935486, 0.879804790019989,
                          0.8335332870483398, 0.7784481644630432, 0.7157112956047058, 0.6431235074996948, 0.5778890252113342,
                          0.4824032485485077, 0.37942054867744446, 0.2709191143512726, 0.15832951664924622, 0.042811594903469086,
                          -0.07484309375286102, -0.19251486659049988, -0.3241271674633026, -0.4276244044303894, -0.5235829949378967,
                          -0.6120253205299377, -0.6922475099563599, -0.763225257396698, -0.8237035870552063, -0.8724746704101562,
                          -0.9119945168495178, -0.9253743886947632, -0.950797438621521, -0.9663715958595276, -0.971190333366394,
                          -0.9650838375091553, -0.9483333230018616, -0.9217509627342224, -0.884890615940094, -0.8535299897193909,
                          -0.7876843214035034, -0.7099785208702087]
        let b: [Float] = [0.5110341310501099, 0.42006632685661316, 0.32484984397888184, 0.226803719997406, 0.12774743139743805,
                          0.02736261859536171]
        let c: [Float] = [-0.4305128753185272, -0.5226975083351135, -0.6061452627182007, -0.6847553253173828]
        let cExpAvgSq: [Float] = [0.0018409081967547536, 0.001169197610579431, 0.0009304809500463307, 0.001249621738679707]
        // Same float32 operations as torch; differences come only from fused multiply-adds (a few ulp).
        assertClose(params[0].toArray(), a, tol: 1e-6, "a")
        assertClose(params[1].toArray(), b, tol: 1e-6, "b")
        assertClose(params[2].toArray(), c, tol: 1e-6, "c")
        let state = opt.state()
        assertClose(state.expAvgSq["2"]?.toArray() ?? [], cExpAvgSq, tol: 1e-6, "c.exp_avg_sq")
        XCTAssertEqual(state.steps, ["0": 5, "1": 5, "2": 4])
        XCTAssertEqual(opt.stepCount(of: "2"), 4)
    }

    /// Saving after 3 steps and resuming a fresh optimizer (through the safetensors encoding) gives
    /// bit-identical parameters to 5 uninterrupted steps.
    func testResumeFromSavedStateIsExact() throws {
        let straight = makeParameters()
        let opt = AdamW(parameters: straight, hyperparameters: hyper)
        runSteps(0..<5, straight, opt)

        let first = makeParameters()
        let optA = AdamW(parameters: first, hyperparameters: hyper)
        runSteps(0..<3, first, optA)
        let saved = optA.state()
        let bytes = try SafeTensors.encode(saved.safetensors, metadata: saved.safetensorsMetadata)
        let (tensors, metadata) = try SafeTensors.decode(bytes)
        XCTAssertNotNil(tensors["0.exp_avg"])
        XCTAssertNotNil(tensors["2.exp_avg_sq"])

        let resumed = first.map { $0.copy() }
        for p in resumed { p.requiresGrad = true }
        let optB = AdamW(parameters: resumed, hyperparameters: AdamW.Hyperparameters(lr: 99))
        try optB.load(state: AdamW.State(safetensors: tensors, metadata: metadata, file: "optimizer.safetensors"))
        XCTAssertEqual(optB.hyperparameters, optA.hyperparameters, "restored like torch's load_state_dict (lr as last set)")
        runSteps(3..<5, resumed, optB)
        for (x, y) in zip(resumed, straight) { XCTAssertEqual(bits(x), bits(y)) }
    }

    /// Weight decay is decoupled: with a zero gradient only p·(1 − lr·wd) and the (zero) Adam step remain.
    func testDecoupledWeightDecayWithZeroGradient() {
        let p = Tensor(shape: [3], data: [1, -2, 4], requiresGrad: true)
        let opt = AdamW(parameters: [p], hyperparameters: AdamW.Hyperparameters(lr: 0.1, weightDecay: 0.5))
        p.grad = Tensor(zeros: [3])
        opt.step()
        XCTAssertEqual(p.toArray(), [1, -2, 4].map { $0 * Float(1 - 0.1 * 0.5) })
    }

    /// The multi-threaded path (chunks split at arbitrary offsets) equals the same update done in small
    /// single-threaded pieces.
    func testLargeParameterMatchesPiecewiseUpdate() {
        let n = 300_001
        let values = cosValues(n)
        let big = Tensor(shape: [n], data: values, requiresGrad: true)
        let pieces = stride(from: 0, to: n, by: 1000).map { lo in
            Tensor(shape: [min(1000, n - lo)], data: Array(values[lo..<min(n, lo + 1000)]), requiresGrad: true)
        }
        let optBig = AdamW(parameters: [big], hyperparameters: hyper)
        let optPieces = AdamW(parameters: pieces, hyperparameters: hyper)
        for k in 0..<2 {
            let g = sinValues(n, offset: Double(k))
            big.grad = Tensor(shape: [n], data: g)
            for (i, p) in pieces.enumerated() {
                p.grad = Tensor(shape: p.shape, data: Array(g[(i * 1000)..<(i * 1000 + p.count)]))
            }
            optBig.step()
            optPieces.step()
        }
        XCTAssertEqual(bits(big), pieces.flatMap(bits))
    }

    func testTiedParameterIsUpdatedOnce() {
        let shared = Tensor(shape: [2], data: [1, 2], requiresGrad: true)
        let reference = Tensor(shape: [2], data: [1, 2], requiresGrad: true)
        let opt = AdamW(namedParameters: [("embed.weight", shared), ("head.weight", shared)], hyperparameters: hyper)
        let optRef = AdamW(parameters: [reference], hyperparameters: hyper)
        shared.grad = Tensor(shape: [2], data: [0.5, -0.5])
        reference.grad = Tensor(shape: [2], data: [0.5, -0.5])
        opt.step()
        optRef.step()
        XCTAssertEqual(bits(shared), bits(reference))
        XCTAssertEqual(opt.parameters.map(\.name), ["embed.weight"])
    }

    func testLoadStateRejectsMismatchesWithFileAndKey() throws {
        let p = Tensor(shape: [2], data: [1, 2], requiresGrad: true)
        let opt = AdamW(namedParameters: [("w", p)])
        let m = Tensor(zeros: [2]), wrong = Tensor(zeros: [3])
        func expectError(_ state: AdamW.State, contains fragment: String, line: UInt = #line) {
            XCTAssertThrowsError(try opt.load(state: state, source: "ckpt/optimizer.safetensors"), line: line) { error in
                XCTAssertTrue(error is CheckpointError, line: line)
                XCTAssertTrue("\(error)".contains("ckpt/optimizer.safetensors"), "\(error)", line: line)
                XCTAssertTrue("\(error)".contains(fragment), "\(error)", line: line)
            }
        }
        let h = AdamW.Hyperparameters()
        expectError(.init(hyperparameters: h, steps: ["w": 1], expAvg: ["w": m], expAvgSq: ["w": wrong]), contains: "w.exp_avg_sq")
        expectError(.init(hyperparameters: h, steps: ["w": 1], expAvg: ["w": m], expAvgSq: [:]), contains: "w.exp_avg_sq")
        expectError(.init(hyperparameters: h, steps: ["v": 1], expAvg: ["v": m], expAvgSq: ["v": m]), contains: "v.exp_avg")
        expectError(.init(hyperparameters: h, steps: [:], expAvg: ["w": m], expAvgSq: ["w": m]), contains: "w.step")

        // Metadata parsing.
        XCTAssertThrowsError(try AdamW.State(safetensors: [:], metadata: [:], file: "o.safetensors")) { error in
            XCTAssertTrue("\(error)".contains("o.safetensors") && "\(error)".contains("optimizer"), "\(error)")
        }
        var metadata = AdamW.State(hyperparameters: h, steps: ["w": 3], expAvg: [:], expAvgSq: [:]).safetensorsMetadata
        metadata["lr"] = "fast"
        XCTAssertThrowsError(try AdamW.State(safetensors: [:], metadata: metadata, file: "o.safetensors")) { error in
            XCTAssertTrue("\(error)".contains("__metadata__.lr"), "\(error)")
        }
        XCTAssertThrowsError(try AdamW.State(safetensors: ["w.momentum": m], metadata: AdamW.State(hyperparameters: h, steps: [:], expAvg: [:], expAvgSq: [:]).safetensorsMetadata,
                                             file: "o.safetensors")) { error in
            XCTAssertTrue("\(error)".contains("w.momentum"), "\(error)")
        }
        // A failed load leaves the optimizer untouched.
        XCTAssertEqual(opt.stepCount(of: "w"), 0)
    }
}
