import Files
import Foundation

/// A metrics line that carries its optimizer step.
public protocol StepMetrics: Codable {
    var step: Int { get }
}

/// metrics.jsonl of a training run: one JSON object per optimizer step.
public enum MetricsFile {
    /// Drops the lines past `step` (written after the last checkpoint of an interrupted run), so a resumed
    /// run's file reads as if it had never stopped.
    public static func truncate<M: StepMetrics>(_ path: String, after step: Int, as: M.Type) throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        let kept = try JSONLines.read(M.self, from: path, allowTruncatedLastLine: true).map(\.value).filter { $0.step <= step }
        try JSONLines.write(kept, to: path)
    }
}

/// The JSON style of config.json files: pretty, sorted keys.
public enum JSONFormat {
    public static var pretty: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return e
    }
}
