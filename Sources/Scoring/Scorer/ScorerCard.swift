import Foundation
import NN

/// README.md of a scorer folder: what the model is and its unit, the data, the exact command, the
/// budget, and the measured agreement of the scorer and of the oracle on the validation split.
public enum ScorerCard {
    public static func text(config: ScorerTrainingConfig, command: String, data: String, pairs: Int, parameterCount: Int,
                            last: ScorerTrainer.Metrics?, seconds: Double, agreement: AgreementReport?) -> String {
        let configJSON = (try? JSONFormat.pretty.encode(config)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        let v = config.model.vision, t = config.model.text
        var lines = [
            "# PickScore-style preference scorer",
            "",
            "A dual encoder trained by t2ialign on preference pairs with the PickScore objective (softmax of the",
            "pair's two scores, cross-entropy against its labels, ties as ½/½, rows weighted by 1/num_example_per_prompt).",
            "",
            "- **Score**: s(image, prompt) = scale × cos(image embedding, prompt embedding); unit \"scale × cosine\"",
            "  (the PickScore convention, ≈ 20 for real PickScore; the raw cosine is s / scale). Higher is preferred.",
            "- **Architecture**: image CNN \(v.imageSize)×\(v.imageSize) RGB"
                + (v.coordinateChannels ? " + 2 coordinate planes" : "")
                + ", stem \(v.stemChannels), stride-2 stages \(v.stageChannels), GroupNorm(\(v.normGroups))/SiLU, average pool"
                + (v.detailChannels > 0 ? ", \(v.detailChannels) high-pass detail filters pooled as mean log energy" : "") + ", LayerNorm;",
            "  byte-level CLIP text transformer (\(t.numHiddenLayers) layers, width \(t.hiddenSize), \(t.numAttentionHeads) heads), pooled at EOS;",
            "  projections to \(config.model.projectionDim) dims; logit_scale initialised to ln(1/0.07), scale capped at \(Int(config.model.maxLogitScale)).",
            "  \(parameterCount) parameters.",
            "- **Data**: \(pairs) training pairs of `\(data)`"
                + (config.users.map { " (users \($0.map(String.init).joined(separator: ",")))" } ?? " (all users)")
                + (config.flip ? ", random horizontal flips with left/right swapped in the prompt" : ""),
            "- **Command**: `\(command)`",
            "- **Budget**: \(config.steps) steps of \(config.batchSize) pairs, " + String(format: "%.1f min", seconds / 60)
                + " training wall time (2 shared CPU cores)",
        ]
        if let m = last {
            var s = String(format: "- **Last step**: loss %.4f, scale %.2f", m.loss, m.scale)
            if let a = m.accuracy { s += String(format: ", batch agreement %.2f", a) }
            lines.append(s)
        }
        if let a = agreement {
            func pct(_ v: Double?) -> String { v.map { String(format: "%.1f%%", 100 * $0) } ?? "n/a" }
            lines += [
                "",
                "## Agreement with held-out labels (split `\(a.split)`"
                    + (a.users.map { ", users \($0.map(String.init).joined(separator: ","))" } ?? "") + ")",
                "",
                "| scorer | agreement with non-tie labels | accuracy with tie prediction | tie threshold on \\|p1 − p2\\| |",
                "|---|---|---|---|",
                "| this scorer | **\(pct(a.scorer.nonTieAgreement))** of \(a.scorer.nonTiePairs) | \(pct(a.scorer.accuracyWithTies)) of \(a.scorer.pairs) | "
                    + String(format: "%.4f", a.scorer.tieThreshold) + " |",
            ]
            if let o = a.oracle {
                lines.append("| oracle r_u (label-noise ceiling) | **\(pct(o.nonTieAgreement))** of \(o.nonTiePairs) | \(pct(o.accuracyWithTies)) of \(o.pairs) | "
                             + String(format: "%.4f", o.tieThreshold) + " |")
            } else {
                lines.append("| oracle r_u | n/a (\(a.oracleNote ?? "not available")) | | |")
            }
            lines += [
                "",
                "Agreement: share of non-tie labels whose preferred image the scorer scores higher (equal scores ½).",
                "Tie prediction: probabilities p = softmax(scores / T) (T = 1 for this scorer, 0.5 for the oracle, the",
                "labels' Bradley–Terry temperature); a tie is predicted when |p1 − p2| < threshold, tuned on \(a.scorer.thresholdTunedOn);",
                "credit 1 when prediction and label agree, ½ when exactly one of them is a tie, 0 otherwise.",
            ]
            if let e = a.expectedSummary {
                lines += ["", "Agreement " + e + " (the labels are Bradley–Terry draws on the oracle reward, so this is "
                          + "the figure without the recorded draw's sampling noise)."]
            }
        }
        lines += ["", "## Training configuration", "```json", configJSON, "```", ""]
        return lines.joined(separator: "\n")
    }
}
