import Autograd
import Foundation

/// The Diffusion-DPO loss (Wallace et al. 2023), in the reference implementation's convention:
///
///     inside = −0.5·β·((Lθ_w − Lθ_l) − (Lref_w − Lref_l)),   loss = mean over pairs of −log σ(inside)
///
/// with L the per-image mean denoising losses. β = 5000 by default (β = 2500 without the ½ is the same
/// thing). DCPO and personalized DPO use this same loss with different conditioning of the two networks.
public enum DiffusionDPOLoss {
    public static let defaultBeta: Float = 5000

    public struct Output {
        /// Scalar loss, differentiable w.r.t. the policy's per-image losses.
        public let loss: Tensor
        /// inside per pair (positive when the policy prefers the winner more than the reference does).
        public let inside: [Double]
        /// Fraction of pairs with inside > 0.
        public var implicitAccuracy: Double {
            inside.isEmpty ? 0 : Double(inside.filter { $0 > 0 }.count) / Double(inside.count)
        }
    }

    /// `policyWin`/`policyLose`: [B] per-image losses of the trained network (winners, losers).
    /// `referenceWin`/`referenceLose`: the frozen reference's per-image losses on the same x_t, t and conditioning.
    public static func loss(policyWin: Tensor, policyLose: Tensor, referenceWin: [Float], referenceLose: [Float],
                            beta: Float = defaultBeta) -> Output {
        let b = policyWin.count
        precondition(policyLose.count == b && referenceWin.count == b && referenceLose.count == b,
                     "DPO: winners and losers need the same number of pairs")
        let halfBeta = 0.5 * Double(beta)
        var inside = [Double](repeating: 0, count: b)
        var total = 0.0
        for i in 0..<b {
            let modelDiff = Double(policyWin.data[i]) - Double(policyLose.data[i])
            let refDiff = Double(referenceWin[i]) - Double(referenceLose[i])
            inside[i] = -halfBeta * (modelDiff - refDiff)
            total += StableMath.softplus(-inside[i])  // −log σ(inside)
        }
        let out = Tensor(shape: [], data: [Float(total / Double(max(b, 1)))])
        let loss = Tensor.record(out, [policyWin, policyLose]) { g in
            // d/d inside of softplus(−inside) = −σ(−inside); d inside/dLθ_w = −β/2, d inside/dLθ_l = +β/2.
            let dw = Tensor.uninitialized(policyWin.shape), dl = Tensor.uninitialized(policyLose.shape)
            let scale = Double(g.data[0]) / Double(max(b, 1))
            for i in 0..<b {
                let s = StableMath.sigmoid(-inside[i])
                dw.data[i] = Float(scale * halfBeta * s)
                dl.data[i] = Float(-scale * halfBeta * s)
            }
            return [dw, dl]
        }
        return Output(loss: loss, inside: inside)
    }
}

/// Numerically stable scalar helpers in Double (the losses live on a handful of values per step).
enum StableMath {
    /// log(1 + eˣ) without overflow.
    static func softplus(_ x: Double) -> Double { max(x, 0) + log1p(exp(-abs(x))) }
    static func sigmoid(_ x: Double) -> Double {
        x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x))
    }
    /// log σ(x) = −softplus(−x).
    static func logSigmoid(_ x: Double) -> Double { -softplus(-x) }
}
