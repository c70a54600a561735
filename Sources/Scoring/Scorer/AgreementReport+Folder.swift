import Files
import Foundation
import NN

/// A scorer folder may hold `agreement.json`: the `AgreementReport` that `t2ialign scorer train` measured
/// for the saved weights. `t2ialign eval --scorer DIR` quotes it in the evaluation report.
extension AgreementReport {
    public static let fileName = "agreement.json"

    /// Writes `agreement.json` into the scorer folder `directory` (atomically).
    public func save(toScorerFolder directory: String) throws {
        try AtomicFile.write(JSONFormat.pretty.encode(self),
                             to: URL(fileURLWithPath: directory).appendingPathComponent(Self.fileName).path)
    }

    /// The report in `directory/agreement.json`; nil when the folder has none (a scorer trained without a
    /// validation split). A present but unreadable file is an error naming it.
    public static func load(fromScorerFolder directory: String) throws -> AgreementReport? {
        let path = URL(fileURLWithPath: directory).appendingPathComponent(fileName).path
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ScorerError.config(file: path, field: nil, reason: "is unreadable")
        }
        do {
            return try JSONDecoder().decode(AgreementReport.self, from: data)
        } catch let e as DecodingError {
            let (field, why) = PreferenceScorerConfig.describe(e)
            throw ScorerError.config(file: path, field: field, reason: why + " (re-measure it with `t2ialign scorer agreement --scorer \(directory) --data DIR --json \(path)`)")
        }
    }
}
