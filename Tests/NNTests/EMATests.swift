import Autograd
import Foundation
import NN
import XCTest

final class EMATests: XCTestCase {
    /// Reference: diffusers 0.42.1 `EMAModel` (torch 2.13.0):
    ///
    ///     w = torch.nn.Parameter(torch.tensor([math.cos(i * 0.11) for i in range(5)], dtype=torch.float32))
    ///     frozen = torch.nn.Parameter(torch.tensor([1.0, 2.0]), requires_grad=False)
    ///     ema = EMAModel([w, frozen], **kw)
    ///     for k in range(6):
    ///         with torch.no_grad():
    ///             w.copy_(torch.tensor([math.sin(i * 0.37 + k) for i in range(5)], dtype=torch.float32))
    ///             frozen.add_(1.0)
    ///         ema.step([w, frozen]); decays.append(ema.cur_decay_value)
    ///     # ema.shadow_params[0], [1] printed with repr(float(x)); frozen's shadow is [7.0, 8.0] in every case
    private let cases: [(EMA.Configuration, decays: [Double], shadow: [Float])] = [
        // kw = {"decay": 0.9}
        (EMA.Configuration(decay: 0.9), [0.0, 0.18181818181818182, 0.25, 0.3076923076923077, 0.35714285714285715, 0.4],
         [-0.7184615135192871, -0.7069636583328247, -0.5997816324234009, -0.4114219546318054, -0.1673782467842102]),
        // kw = {"decay": 0.9, "use_ema_warmup": True, "inv_gamma": 1.0, "power": 0.75}
        (EMA.Configuration(decay: 0.9, warmup: .power(inverseGamma: 1, power: 0.75)),
         [0.0, 0.4053964424986395, 0.5613086623491692, 0.6464466094067263, 0.7009302437557559, 0.7391525699877854],
         [-0.16391968727111816, -0.21660737693309784, -0.23997825384140015, -0.23086924850940704, -0.19051310420036316]),
        // kw = {"decay": 0.9, "update_after_step": 2, "min_decay": 0.5}
        (EMA.Configuration(decay: 0.9, minDecay: 0.5, updateAfterStep: 2), [0.0, 0.0, 0.0, 0.5, 0.5, 0.5],
         [-0.5373606085777283, -0.5723597407341003, -0.5298927426338196, -0.41570723056793213, -0.2452576756477356]),
    ]

    func testMatchesDiffusersEMAModel() throws {
        for (config, decays, expectedShadow) in cases {
            let w = Tensor(shape: [5], data: cosValues(5), requiresGrad: true)
            let frozen = Tensor(shape: [2], data: [1, 2], requiresGrad: false)
            let ema = EMA(namedParameters: [("w", w), ("frozen", frozen)], configuration: config)
            for k in 0..<6 {
                w.assign(Tensor(shape: [5], data: sinValues(5, offset: Double(k))))
                frozen.assign(Tensor(shape: [2], data: frozen.toArray().map { $0 + 1 }))
                try ema.update(from: [("w", w), ("frozen", frozen)])
                XCTAssertEqual(ema.decay(at: ema.optimizationStep), decays[k], accuracy: 1e-15, "\(config) step \(k)")
            }
            assertClose(ema.stateDict()["w"]?.toArray() ?? [], expectedShadow, tol: 1e-6, "\(config)")
            XCTAssertEqual(ema.stateDict()["frozen"]?.toArray(), [7, 8])
        }
    }

    /// The formula itself, independent of diffusers: one update with decay d gives s − (1−d)(s − p).
    func testUpdateFollowsFormula() throws {
        let model = TinyModel(seed: 0)
        let ema = EMA(module: model, configuration: .init(decay: 0.75, warmup: .off))
        let start = ema.stateDict().mapValues { $0.toArray() }
        try ema.update(from: model)  // first update: decay 0 → copy
        model.bias.assign(Tensor(shape: [4], data: [10, 20, 30, 40]))
        try ema.update(from: model)
        XCTAssertEqual(ema.decay(at: 2), 0.75)
        let expected = zip(start["bias"] ?? [], [Float(10), 20, 30, 40]).map { s, p in s - Float(0.25) * (s - p) }
        XCTAssertEqual(ema.stateDict()["bias"]?.toArray(), expected)
        XCTAssertEqual(ema.stateDict()["inner.weight"]?.toArray(), start["inner.weight"])
    }

    func testCopyToAndTemporarySwap() throws {
        let model = TinyModel(seed: 0)
        let ema = EMA(module: model)
        let averaged = model.bias.toArray()
        model.bias.assign(Tensor(shape: [4], data: [9, 9, 9, 9]))
        let seen = try ema.withAveragedWeights(in: model) { model.bias.toArray() }
        XCTAssertEqual(seen, averaged)
        XCTAssertEqual(model.bias.toArray(), [9, 9, 9, 9])
        try ema.copy(to: model)
        XCTAssertEqual(model.bias.toArray(), averaged)
    }

    func testStateRoundTripAndMismatchErrors() throws {
        let model = TinyModel(seed: 1)
        let config = EMA.Configuration(decay: 0.99, minDecay: 0.1, updateAfterStep: 3, warmup: .power(inverseGamma: 2, power: 0.5))
        let ema = EMA(module: model, configuration: config)
        for _ in 0..<4 {
            model.bias.assign(Tensor(shape: [4], data: model.bias.toArray().map { $0 + 1 }))
            try ema.update(from: model)
        }
        let state = ema.state()
        let bytes = try SafeTensors.encode(state.shadow, metadata: state.safetensorsMetadata)
        let (tensors, metadata) = try SafeTensors.decode(bytes)
        let parsed = try EMA.State(safetensors: tensors, metadata: metadata, file: "ema.safetensors")
        XCTAssertEqual(parsed.configuration, config)
        XCTAssertEqual(parsed.optimizationStep, 4)

        let fresh = EMA(module: TinyModel(seed: 5), configuration: config)
        try fresh.load(state: parsed, source: "ema.safetensors")
        XCTAssertEqual(fresh.optimizationStep, 4)
        for (name, t) in ema.stateDict() { XCTAssertEqual(fresh.stateDict()[name].map(bits), bits(t), name) }

        var missing = parsed
        missing.shadow["bias"] = nil
        XCTAssertThrowsError(try fresh.load(state: missing, source: "run/ema.safetensors")) { error in
            XCTAssertTrue("\(error)".contains("run/ema.safetensors") && "\(error)".contains("bias"), "\(error)")
        }
        var wrongShape = parsed
        wrongShape.shadow["bias"] = Tensor(zeros: [5])
        XCTAssertThrowsError(try fresh.load(state: wrongShape, source: "run/ema.safetensors")) { error in
            guard case .shapeMismatch(_, "bias", [4], [5]) = error as? CheckpointError else { return XCTFail("\(error)") }
        }
        var badMetadata = metadata
        badMetadata["ema_warmup"] = "sometimes"
        XCTAssertThrowsError(try EMA.State(safetensors: tensors, metadata: badMetadata, file: "ema.safetensors")) { error in
            XCTAssertTrue("\(error)".contains("ema_warmup"), "\(error)")
        }
        // Updating from a different architecture is a typed error, not a crash.
        XCTAssertThrowsError(try ema.update(from: [("bias", Tensor(zeros: [4]))]))
    }
}
