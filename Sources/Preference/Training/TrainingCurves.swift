import Files
import Foundation
import ImageIO

/// curves.png of a preference run: loss, the objective's own diagnostics, and the per-image losses.
enum TrainingCurves {
    static func write(metricsPath: String, objective: Objective, to path: String) throws {
        let m = try JSONLines.read(PreferenceTrainer.Metrics.self, from: metricsPath, allowTruncatedLastLine: true).map(\.value)
        func series(_ name: String, _ k: Int, _ value: (PreferenceTrainer.Metrics) -> Double?) -> LinePlot.Series {
            LinePlot.Series(name: name, points: m.compactMap { r in value(r).map { (Double(r.step), $0) } },
                            color: LinePlot.palette[k % LinePlot.palette.count])
        }
        var panels = [LinePlot.Panel(title: "loss", series: [series("loss", 0) { $0.loss }])]
        switch objective {
        case .dpo, .dcpo:
            panels.append(.init(title: "implicit accuracy", series: [series("acc", 2) { $0.implicitAccuracy }]))
            panels.append(.init(title: "per-image loss", series: [
                series("policy w", 0) { $0.policyWin }, series("policy l", 1) { $0.policyLose },
                series("ref w", 3) { $0.referenceWin }, series("ref l", 4) { $0.referenceLose }]))
        case .mapo:
            panels.append(.init(title: "MaPO", series: [series("margin loss", 2) { $0.marginLoss }]))
            panels.append(.init(title: "scores", series: [series("win", 0) { $0.winScore }, series("lose", 1) { $0.loseScore }]))
        case .sft:
            panels.append(.init(title: "per-image loss", series: [series("winners", 0) { $0.policyWin }]))
        }
        panels.append(.init(title: "learning rate", series: [series("lr", 3) { $0.lr }]))
        try ImageFile.writePNG(LinePlot.render(title: "t2ialign train --objective \(objective.rawValue)", panels: panels), to: path)
    }
}
