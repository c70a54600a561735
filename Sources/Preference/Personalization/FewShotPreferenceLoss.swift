import Autograd
import Foundation

/// The episode loss of the user encoder (a prototypical few-shot Bradley–Terry model).
///
/// For each of U users in an episode: the K support differences d_k = ψ(x_w,k) − ψ(x_l,k) give the
/// prototype u = normalize(mean_k d_k); each of its Q query pairs (a, b) gets the logit
/// z = s·⟨u, ψ(a) − ψ(b)⟩ with s = exp(logit_scale), and the loss is the Bradley–Terry negative
/// log-likelihood of the query labels, averaged over all U·Q queries:
///
///     NLL = y·softplus(−z) + (1 − y)·softplus(z)      y = 1 (a preferred), ½ (tie), 0 (b preferred)
///
/// Queries never overlap the support set, so the encoder learns to generalise from K pairs to new ones.
public enum FewShotPreferenceLoss {
    public struct Output {
        /// Scalar loss, differentiable w.r.t. both difference tensors and the log scale.
        public let loss: Tensor
        /// z per query, user-major ([U·Q]).
        public let logits: [Float]
        /// Share of non-tie queries whose label the logit's sign predicts (nil when every query is a tie).
        public let accuracy: Double?
    }

    /// `supportDifferences` [U, K, D]; `queryDifferences` [U, Q, D] (first − second image);
    /// `targets` [U·Q] in {0, ½, 1}: the probability that the first image of the query is preferred;
    /// `logScale` [1] = log s.
    public static func loss(supportDifferences: Tensor, queryDifferences: Tensor, targets: [Float],
                            logScale: Tensor) throws -> Output {
        guard supportDifferences.rank == 3, queryDifferences.rank == 3,
              supportDifferences.shape[0] == queryDifferences.shape[0],
              supportDifferences.shape[2] == queryDifferences.shape[2],
              supportDifferences.shape[0] > 0, supportDifferences.shape[1] > 0, queryDifferences.shape[1] > 0 else {
            throw PersonalizationError.input("episode loss: support \(supportDifferences.shape) must be [U, K, D] and queries \(queryDifferences.shape) [U, Q, D] with U, K, Q > 0")
        }
        let (u, q, d) = (queryDifferences.shape[0], queryDifferences.shape[1], queryDifferences.shape[2])
        guard targets.count == u * q, targets.allSatisfy({ $0 == 0 || $0 == 0.5 || $0 == 1 }) else {
            throw PersonalizationError.input("episode loss: \(targets.count) targets for \(u)×\(q) queries; each must be 0, 0.5 or 1")
        }
        guard logScale.count == 1 else { throw PersonalizationError.input("episode loss: logit scale must hold one value, got \(logScale.shape)") }

        let prototypes = l2Normalized(mean(supportDifferences, axis: 1))               // [U, D]
        let dots = sum(prototypes.reshaped([u, 1, d]) * queryDifferences, axis: 2)      // [U, Q]
        let logits = exp(logScale) * dots.reshaped([u * q])                              // [U·Q]
        let y = Tensor(shape: [u * q], data: targets)
        let nll = y * softplus(neg(logits)) + (1 - y) * softplus(logits)
        let z = logits.toArray()
        var right = 0, counted = 0
        for (i, t) in targets.enumerated() where t != 0.5 {
            counted += 1
            if (z[i] > 0) == (t == 1) { right += 1 }
        }
        return Output(loss: mean(nll), logits: z, accuracy: counted == 0 ? nil : Double(right) / Double(counted))
    }
}
