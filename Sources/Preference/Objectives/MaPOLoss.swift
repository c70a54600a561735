import Autograd
import Foundation

/// MaPO, the reference-free margin-aware preference objective (Hong et al. 2024):
///
///     f(L) = s·L / (exp(s·L) − 1),   log_odds = f(Lw) − f(Ll),   ratio = log σ(T·log_odds)
///     loss = mean(Lw) − β_mapo · mean(ratio)
///
/// with s = 0.5, T = 1000 and β_mapo = 0.1 by default. No reference network exists at all.
public enum MaPOLoss {
    public static let defaultBeta: Float = 0.1
    public static let scale = 0.5
    public static let temperature = 1000.0

    public struct Output {
        public let loss: Tensor
        /// mean f(Lw) and mean f(Ll): the "win score" and "lose score" of the reference code.
        public let winScore: Double, loseScore: Double
        /// −β_mapo · mean(ratio).
        public let marginLoss: Double
    }

    /// x / expm1(x), computed stably: the series 1 − x/2 + x²/12 below 1e-4.
    public static func score(_ x: Double) -> Double { abs(x) < 1e-4 ? 1 - x / 2 + x * x / 12 : x / expm1(x) }

    /// d/dx of x / expm1(x).
    public static func scoreDerivative(_ x: Double) -> Double {
        if abs(x) < 1e-4 { return -0.5 + x / 6 }
        let e = expm1(x)
        return (e - x * (e + 1)) / (e * e)
    }

    public static func loss(win: Tensor, lose: Tensor, beta: Float = defaultBeta) -> Output {
        let b = win.count
        precondition(lose.count == b, "MaPO: winners and losers need the same number of pairs")
        let s = scale, t = temperature, bm = Double(beta)
        var z = [Double](repeating: 0, count: b)
        var sumW = 0.0, sumFw = 0.0, sumFl = 0.0, sumRatio = 0.0
        for i in 0..<b {
            let lw = Double(win.data[i]), ll = Double(lose.data[i])
            let fw = score(s * lw), fl = score(s * ll)
            z[i] = t * (fw - fl)
            sumW += lw; sumFw += fw; sumFl += fl
            sumRatio += StableMath.logSigmoid(z[i])
        }
        let n = Double(max(b, 1))
        let out = Tensor(shape: [], data: [Float(sumW / n - bm * sumRatio / n)])
        let loss = Tensor.record(out, [win, lose]) { g in
            let dw = Tensor.uninitialized(win.shape), dl = Tensor.uninitialized(lose.shape)
            let gs = Double(g.data[0]) / n
            for i in 0..<b {
                // d log σ(z)/dz = σ(−z); dz/dLw = T·s·score'(s·Lw); dz/dLl = −T·s·score'(s·Ll).
                let sg = StableMath.sigmoid(-z[i])
                let dzw = t * s * scoreDerivative(s * Double(win.data[i]))
                let dzl = -t * s * scoreDerivative(s * Double(lose.data[i]))
                dw.data[i] = Float(gs * (1 - bm * sg * dzw))
                dl.data[i] = Float(gs * (-bm * sg * dzl))
            }
            return [dw, dl]
        }
        return Output(loss: loss, winScore: sumFw / n, loseScore: sumFl / n, marginLoss: -bm * sumRatio / n)
    }
}
