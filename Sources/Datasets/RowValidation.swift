import Foundation

/// Turns one JSON line into a `PairRow`, checking every column's presence and JSON type, and checks the
/// labels of judged rows. Each problem is a `RowError` naming the file, line and column.
public enum RowValidation {
    /// Parses one line (without its newline). `unterminated` marks a last line with no newline, whose
    /// parse failure means the file was cut short rather than a bad row.
    public static func parse(_ line: Data, file: String, line number: Int, unterminated: Bool = false) throws -> PairRow {
        func fail(_ column: PairRow.CodingKeys?, _ defect: RowDefect, _ detail: String) -> RowError {
            RowError(file: file, line: number, column: column?.rawValue, defect: defect, detail: detail)
        }
        let value: JSONValue
        do { value = try JSONValue.parse(line) } catch {
            if unterminated {
                throw fail(nil, .truncatedLastLine, "the last line has no newline and is not complete JSON")
            }
            throw fail(nil, .invalidJSON, "the line is not valid JSON: \(error) (the line \(preview(line)))")
        }
        guard case .object(let object) = value else {
            throw fail(nil, .notAnObject, "the line holds \(value.typeName), expected an object of Pick-a-Pic columns")
        }

        func raw(_ key: PairRow.CodingKeys) throws -> JSONValue? {
            guard let v = object[key.rawValue], v != .null else {
                if key.isOptional { return nil }
                if object[key.rawValue] == .null { throw fail(key, .wrongType, "\(key.rawValue) is null") }
                throw fail(key, .missingColumn, "the row has no \(key.rawValue)")
            }
            return v
        }
        func string(_ key: PairRow.CodingKeys) throws -> String? {
            guard let v = try raw(key) else { return nil }
            guard case .string(let s) = v else { throw fail(key, .wrongType, "expected a string, found \(v.typeName)") }
            return s
        }
        func integer(_ key: PairRow.CodingKeys) throws -> Int? {
            guard let v = try raw(key) else { return nil }
            guard let i = v.intValue else { throw fail(key, .wrongType, "expected an integer, found \(v.typeName)") }
            return i
        }
        func double(_ key: PairRow.CodingKeys) throws -> Double {
            guard let v = try raw(key) else { return 0 }
            guard let d = v.numberValue else { throw fail(key, .wrongType, "expected a number, found \(v.typeName)") }
            return d
        }
        func boolean(_ key: PairRow.CodingKeys) throws -> Bool {
            guard let v = try raw(key) else { return false }
            guard case .bool(let b) = v else { throw fail(key, .wrongType, "expected true or false, found \(v.typeName)") }
            return b
        }
        // Required columns return non-nil (raw throws otherwise); `?? ""` only satisfies the type checker.
        return PairRow(
            caption: try string(.caption) ?? "",
            jpg0: try string(.jpg0) ?? "", jpg1: try string(.jpg1) ?? "",
            label0: try double(.label0), label1: try double(.label1),
            userID: try integer(.userID) ?? 0, rankingID: try integer(.rankingID) ?? 0,
            image0UID: try string(.image0UID) ?? "", image1UID: try string(.image1UID) ?? "",
            bestImageUID: try string(.bestImageUID) ?? "",
            model0: try string(.model0) ?? "", model1: try string(.model1) ?? "",
            hasLabel: try boolean(.hasLabel), areDifferent: try boolean(.areDifferent),
            createdAt: try string(.createdAt) ?? "",
            numExamplePerPrompt: try integer(.numExamplePerPrompt),
            caption0: try string(.caption0), caption1: try string(.caption1))
    }

    /// The label rules for a judged row: each label in {0, 0.5, 1}, summing to 1, and a non-empty
    /// best_image_uid naming the preferred image.
    public static func checkLabels(_ row: PairRow, file: String, line: Int) throws {
        func fail(_ column: PairRow.CodingKeys, _ defect: RowDefect, _ detail: String) -> RowError {
            RowError(file: file, line: line, column: column.rawValue, defect: defect, detail: detail)
        }
        for (key, label) in [(PairRow.CodingKeys.label0, row.label0), (.label1, row.label1)]
        where !(label == 0 || label == 0.5 || label == 1) {
            throw fail(key, .badLabel, "\(key.rawValue) is \(label)")
        }
        guard row.label0 + row.label1 == 1 else {
            throw fail(.label1, .labelSum, "label_0 + label_1 = \(row.label0) + \(row.label1), must be 1")
        }
        if !row.isTie && !row.bestImageUID.isEmpty {
            let winner = row.label0 == 1 ? row.image0UID : row.image1UID
            guard row.bestImageUID == winner else {
                throw fail(.bestImageUID, .bestImageMismatch,
                           "best_image_uid is \"\(row.bestImageUID)\" but the labels prefer \"\(winner)\"")
            }
        }
    }

    /// The start of a bad line, for the error message.
    static func preview(_ line: Data) -> String {
        let text = String(decoding: line.prefix(60), as: UTF8.self)
        return line.count > 60 ? "starts with \(text)…" : "reads \(text)"
    }
}
