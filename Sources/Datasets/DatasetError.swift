/// The kinds of malformed rows. With `lenient` reading each is skipped and counted under its kind;
/// otherwise it is a `RowError` naming the file, the 1-based line and the column.
public enum RowDefect: String, Codable, CaseIterable, Sendable, Comparable {
    case emptyFile = "empty file"
    case invalidJSON = "invalid JSON"
    case truncatedLastLine = "truncated last line"
    case notAnObject = "not a JSON object"
    case missingColumn = "missing column"
    case wrongType = "wrong JSON type"
    case badLabel = "label not in {0, 0.5, 1}"
    case labelSum = "labels do not sum to 1"
    case bestImageMismatch = "best_image_uid contradicts the labels"
    case missingImage = "missing image file"
    case undecodableImage = "undecodable image"

    public static func < (a: RowDefect, b: RowDefect) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// What the user can do about it.
    var advice: String {
        switch self {
        case .emptyFile:
            return "The split file holds no rows: regenerate or re-import the dataset, or delete the file."
        case .truncatedLastLine:
            return "The file ends in the middle of a row (an interrupted write?): delete the incomplete last line, "
                + "or pass --lenient to skip it."
        case .missingImage:
            return "Restore the image (paths are relative to the dataset directory), or pass --lenient to skip the row."
        case .undecodableImage:
            return "Replace the image with a valid PNG or JPEG, or pass --lenient to skip the row."
        default:
            return "Fix the row (columns and types: specs/pickapic-format.md), or pass --lenient to skip malformed rows."
        }
    }
}

/// Rows the format's rules skip on purpose (not errors): they are counted and reported.
public enum FilterReason: String, Codable, CaseIterable, Sendable, Comparable {
    case notLabeled = "has_label=false"
    case notDifferent = "are_different=false"
    case tie = "tie (0.5/0.5)"
    case otherUser = "user not selected"

    public static func < (a: FilterReason, b: FilterReason) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// A malformed row: where it is and what is wrong.
public struct RowError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The split file (or the Parquet shard) holding the row.
    public let file: String
    /// 1-based line (row number in a Parquet shard).
    public let line: Int
    /// The Pick-a-Pic column at fault, nil when the whole line is (invalid JSON, empty file).
    public let column: String?
    public let defect: RowDefect
    /// What exactly is wrong, e.g. "label_0 is 0.7".
    public let detail: String

    public init(file: String, line: Int, column: String?, defect: RowDefect, detail: String) {
        self.file = file
        self.line = line
        self.column = column
        self.defect = defect
        self.detail = detail
    }

    public var description: String {
        let where_ = column.map { "\(file):\(line): column '\($0)'" } ?? "\(file):\(line)"
        return "\(where_): \(defect.rawValue): \(detail). \(defect.advice)"
    }
}

/// Errors of the dataset layer; each names the file and says what to do.
public enum DatasetError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingManifest(path: String)
    case invalidManifest(path: String, reason: String)
    case unknownFormat(path: String, found: String)
    case unsupportedVersion(path: String, found: Int)
    case missingSplit(directory: String, split: String, available: [String])
    case malformedRow(RowError)
    case noPairs(file: String, detail: String)
    case io(path: String, reason: String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .missingManifest(let path):
            return "\(path) not found: a dataset directory needs a dataset.json "
                + "({\"format\": \"\(DatasetManifest.formatName)\", \"version\": 1, \"resolution\": 32}). "
                + "Check the path, or create the dataset with `t2ialign data synth` / `t2ialign data import-pickapic`."
        case .invalidManifest(let path, let reason):
            return "\(path): \(reason). Fix dataset.json (spec: specs/pickapic-format.md)."
        case .unknownFormat(let path, let found):
            return "\(path): format is \"\(found)\", expected \"\(DatasetManifest.formatName)\". "
                + "Point to a Pick-a-Pic pair dataset directory."
        case .unsupportedVersion(let path, let found):
            return "\(path): format version \(found) is not supported (this build reads version "
                + "\(DatasetManifest.currentVersion)). Re-create the dataset or upgrade t2ialign."
        case .missingSplit(let directory, let split, let available):
            let list = available.isEmpty ? "none" : available.joined(separator: ", ")
            return "\(directory)/\(split).jsonl not found: the dataset has no split '\(split)' "
                + "(available: \(list)). Pick one of those."
        case .malformedRow(let e):
            return e.description
        case .noPairs(let file, let detail):
            return "\(file): no usable pairs (\(detail)). Check the filters (ties, lenient) or the data."
        case .io(let path, let reason):
            return "\(path): \(reason)"
        case .invalidArgument(let text):
            return text
        }
    }
}
