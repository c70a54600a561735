import Foundation

/// A one-line progress display for long loops: step/total, named values, it/s and ETA.
/// On a terminal it redraws one line; otherwise (CI, pipes) it prints a line every `plainInterval` seconds.
public struct ProgressLine {
    public let total: Int
    public let label: String
    private let start: Date
    private let startStep: Int
    private var lastPrint = Date.distantPast
    private let isTerminal = isatty(STDERR_FILENO) != 0
    public var plainInterval: TimeInterval = 10

    /// `startStep` is where a resumed run begins, so it/s counts only this run's steps.
    public init(total: Int, label: String, startStep: Int = 0) {
        self.total = total
        self.label = label
        self.startStep = startStep
        self.start = Date()
    }

    /// Shows progress after `step` steps are done (1-based count), with `values` such as ("loss", 0.12).
    public mutating func update(step: Int, values: [(String, Double)] = [], force: Bool = false) {
        let now = Date()
        let minGap = isTerminal ? 0.2 : plainInterval
        guard force || step >= total || now.timeIntervalSince(lastPrint) >= minGap else { return }
        lastPrint = now
        FileHandle.standardError.write(Data(((isTerminal ? "\r\u{1B}[K" : "") + text(step: step, values: values, now: now)
                                             + (isTerminal && step < total ? "" : "\n")).utf8))
    }

    /// The line itself (exposed for tests and logs).
    public func text(step: Int, values: [(String, Double)], now: Date = Date()) -> String {
        let elapsed = now.timeIntervalSince(start)
        let done = step - startStep
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - step) / rate : .infinity
        let shown = values.map { "\($0.0) \(ProgressLine.format($0.1))" }.joined(separator: "  ")
        return "\(label) \(step)/\(total)  \(shown)  \(String(format: "%.2f", rate)) it/s  ETA \(ProgressLine.duration(eta))"
    }

    static func format(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        return a >= 1e4 || a < 1e-3 ? String(format: "%.3e", v) : String(format: "%.4f", v)
    }

    /// "1h02m", "3m05s", "12s".
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "--" }
        let s = Int(seconds.rounded())
        if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
        if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return "\(s)s"
    }
}
