import Foundation
import NN

/// The model card of an aligned model: base, data, objective, every setting, the command and the final metrics.
public enum AlignedModelCard {
    public static func text(config: PreferenceTrainingConfig, command: String, base: String, data: String, pairs: Int,
                            last: PreferenceTrainer.Metrics?, seconds: Double) -> String {
        let configJSON = (try? JSONFormat.pretty.encode(config)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        var lines = [
            "# \(config.objective.rawValue.uppercased())-aligned text-to-image model",
            "",
            "Fine-tuned by t2ialign from `\(base)` on \(pairs) preference pairs of `\(data)`.",
            "",
            "- **Command**: `\(command)`",
            "- **Objective**: \(config.objective.rawValue)" + (config.effectiveBeta.map { ", β = \($0)" } ?? ""),
            "- **Budget**: \(config.steps) steps of \(config.batchSize)×\(config.gradientAccumulation) pairs, "
                + String(format: "%.1f min", seconds / 60) + " wall time (last segment)",
        ]
        if let m = last {
            var s = String(format: "- **Last step**: loss %.4f, policy loss w/l %.4f", m.loss, m.policyWin)
            if let l = m.policyLose { s += String(format: "/%.4f", l) }
            if let a = m.implicitAccuracy { s += String(format: ", implicit accuracy %.2f", a) }
            lines.append(s)
        }
        lines += ["", "## Training configuration", "```json", configJSON, "```", ""]
        return lines.joined(separator: "\n")
    }
}
