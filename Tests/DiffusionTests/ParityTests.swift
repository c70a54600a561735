import Autograd
import Foundation
import Kernels
import NN
import XCTest
import Diffusion

/// The Swift text encoder and U-Net against transformers' CLIPTextModel and diffusers' UNet2DConditionModel
/// on the fixtures of Scripts/make_parity_fixtures.py (reduced widths, every block type, seeded weights):
///     text = CLIPTextModel(ids).last_hidden_state;  ctx = cat([text, extra], 1)  (L = 80 + 3)
///     eps  = UNet2DConditionModel(sample, timesteps, ctx).sample;  loss = mean(eps²)
/// Outputs must agree within 1e-4 (max-abs), gradients of the loss within 1e-3 (max-abs over max |torch|).
final class ParityTests: XCTestCase {
    private func fixture(_ name: String, _ ext: String) throws -> String {
        try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures"),
                      "\(name).\(ext) missing: run Scripts/make_parity_fixtures.py").path
    }

    private func maxAbsDiff(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.toArray(), b.toArray()).map { abs($0 - $1) }.max() ?? 0
    }

    /// max |a − b| / max |b|: the gradient error relative to the reference's scale.
    private func relativeError(_ a: Tensor, _ reference: Tensor) -> Float {
        maxAbsDiff(a, reference) / max(reference.toArray().map(abs).max() ?? 0, 1e-12)
    }

    func testTextEncoderAndUNetMatchPyTorch() throws {
        let io = try SafeTensors.read(fixture("parity_io", "safetensors"))
        func tensor(_ name: String) throws -> Tensor { try XCTUnwrap(io.tensors[name], "parity_io lacks \(name)") }

        // Models: configs as written by diffusers/transformers, weights under their own names (strict load).
        var rng = RNG(seed: 0)
        let text = try TextEncoder(config: TextEncoderConfig.load(from: fixture("parity_text_config", "json")), rng: &rng)
        try text.load(transformersStateDict: SafeTensors.read(fixture("parity_text_encoder", "safetensors")).tensors)
        let unet = try UNet2DConditionModel(config: UNetConfig.load(from: fixture("parity_unet_config", "json")), rng: &rng)
        try unet.load(stateDict: SafeTensors.read(fixture("parity_unet", "safetensors")).tensors)

        // Tokens: the fixture's ids are models.py tokenize(prompts); ours must be the same.
        let prompts = try JSONDecoder().decode([String].self, from: Data(try XCTUnwrap(io.metadata["prompts"]).utf8))
        let tokens = ByteTokenizer().encode(prompts)
        XCTAssertEqual(tokens.ids.map(Float.init), try tensor("ids").toArray())

        let sample = try tensor("sample"), extra = try tensor("extra")
        sample.requiresGrad = true
        extra.requiresGrad = true
        let hidden = try text(tokens)
        let context = try UNet2DConditionModel.appendingTokens(extra, to: hidden)
        XCTAssertEqual(context.shape, [2, 83, 32])
        let eps = try unet(sample, timesteps: try tensor("timesteps"), context: context)
        let loss = mean(square(eps))

        let textError = maxAbsDiff(hidden, try tensor("text_hidden"))
        let epsError = maxAbsDiff(eps, try tensor("eps"))
        XCTAssertEqual(hidden.shape, try tensor("text_hidden").shape)
        XCTAssertEqual(eps.shape, try tensor("eps").shape)
        XCTAssertLessThan(textError, 1e-4, "text encoder last_hidden_state")
        XCTAssertLessThan(epsError, 1e-4, "U-Net eps")
        XCTAssertEqual(loss.item(), try tensor("loss").item(), accuracy: 1e-6)

        loss.backward()
        var worst: (name: String, error: Float) = ("", 0)
        func compare(_ name: String, _ grad: Tensor?) throws {
            let reference = try tensor("grad." + name)
            let g = try XCTUnwrap(grad, "no gradient reached \(name)")
            XCTAssertEqual(g.count, reference.count, name)
            if name.hasSuffix("self_attn.k_proj.bias") {
                // Exactly zero in exact arithmetic (a key bias adds q·b to every score of a query, which the
                // softmax cancels); both sides hold rounding noise (~1e-12), so compare against zero instead.
                XCTAssertLessThan(g.toArray().map(abs).max() ?? 0, 1e-9, "gradient of \(name)")
                return
            }
            let e = relativeError(g, reference)
            XCTAssertLessThan(e, 1e-3, "gradient of \(name)")
            if e > worst.error { worst = (name, e) }
        }
        try compare("sample", sample.grad)
        try compare("extra", extra.grad)
        // Every parameter of both models (the strict loads above checked the name sets are torch's).
        for (name, p) in unet.namedParameters() { try compare("unet." + name, p.grad) }
        for (name, p) in text.namedParameters() { try compare("text." + name, p.grad) }

        print(String(format: "parity: text max-abs %.2e, eps max-abs %.2e, worst gradient %@ relative %.2e",
                     textError, epsError, worst.name, worst.error))
    }

    /// The same U-Net with diffusers' IP-Adapter processor on every cross-attention layer, the last 3 context
    /// tokens split off (Scripts/make_decoupled_attention_fixture.py) = `attach`ed decoupled branches.
    func testDecoupledCrossAttentionMatchesDiffusersIPAdapter() throws {
        let io = try SafeTensors.read(fixture("parity_io", "safetensors")).tensors
        let fx = try SafeTensors.read(fixture("parity_decoupled", "safetensors")).tensors
        func tensor(_ d: [String: Tensor], _ name: String) throws -> Tensor { try XCTUnwrap(d[name], "fixture lacks \(name)") }
        var rng = RNG(seed: 0)
        let unet = try UNet2DConditionModel(config: UNetConfig.load(from: fixture("parity_unet_config", "json")), rng: &rng)
        try unet.load(stateDict: SafeTensors.read(fixture("parity_unet", "safetensors")).tensors)
        // Layer names in crossAttentionLayers order, as diffusers names the modules.
        let paths = unet.namedParameters().map(\.0).filter { $0.hasSuffix("attn2.to_k.weight") }.map { String($0.dropLast(".to_k.weight".count)) }
        let branches = try zip(paths, unet.crossAttentionLayers).map { path, layer -> DecoupledCrossAttention in
            let b = DecoupledCrossAttention(contextDim: layer.toK.inFeatures, innerDim: layer.toK.outFeatures, tokenCount: 3, rng: &rng)
            try b.load(stateDict: ["to_k.weight": tensor(fx, path + ".to_k.weight"), "to_v.weight": tensor(fx, path + ".to_v.weight")])
            return b
        }
        let text = try tensor(io, "text_hidden")
        try unet.attach(branches, textLength: text.shape[1])
        let extra = try tensor(io, "extra")
        extra.requiresGrad = true
        let eps = try unet(try tensor(io, "sample"), timesteps: try tensor(io, "timesteps"),
                           context: UNet2DConditionModel.appendingTokens(extra, to: text))
        let loss = mean(square(eps))
        XCTAssertLessThan(maxAbsDiff(eps, try tensor(fx, "eps")), 1e-4, "U-Net eps with decoupled branches")
        XCTAssertEqual(loss.item(), try tensor(fx, "loss").item(), accuracy: 1e-6)
        loss.backward()
        XCTAssertLessThan(relativeError(try XCTUnwrap(extra.grad), try tensor(fx, "grad.extra")), 1e-3, "gradient of the extra tokens")
        for (path, b) in zip(paths, branches) {
            XCTAssertLessThan(relativeError(try XCTUnwrap(b.toK.weight.grad), try tensor(fx, "grad." + path + ".to_k.weight")), 1e-3, path)
            XCTAssertLessThan(relativeError(try XCTUnwrap(b.toV.weight.grad), try tensor(fx, "grad." + path + ".to_v.weight")), 1e-3, path)
        }
    }
}
