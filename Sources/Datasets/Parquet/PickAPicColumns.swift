/// Locates the Pick-a-Pic columns in a Parquet shard and converts their values to `PairRow` fields.
///
/// Accepted layouts, as found in the real shards and their Hugging Face conversions: jpg_0/jpg_1 as a
/// binary column or as an Image struct {bytes, path} (the `bytes` leaf is read); created_at as a string,
/// an INT64 timestamp (ms/us/ns) or a legacy INT96 timestamp; labels as DOUBLE/FLOAT (or integers);
/// ids as INT32/INT64. Extra columns are ignored.
struct PickAPicColumns {
    enum Kind {
        case string, bytes, number, integer, boolean, time
    }

    struct Column {
        let key: PairRow.CodingKeys?
        let name: String
        let index: Int
        let kind: Kind
        let descriptor: ParquetColumnDescriptor
    }

    /// In PairRow order, then jpg columns (key nil for none).
    let columns: [Column]

    static func kind(of key: PairRow.CodingKeys) -> Kind {
        switch key {
        case .caption, .image0UID, .image1UID, .bestImageUID, .model0, .model1, .caption0, .caption1: return .string
        case .jpg0, .jpg1: return .bytes
        case .label0, .label1: return .number
        case .userID, .rankingID, .numExamplePerPrompt: return .integer
        case .hasLabel, .areDifferent: return .boolean
        case .createdAt: return .time
        }
    }

    init(file: ParquetFile) throws {
        var out: [Column] = []
        for key in PairRow.CodingKeys.allCases {
            let name = key.rawValue
            let kind = PickAPicColumns.kind(of: key)
            var index = file.columnIndex(named: name)
            if index == nil && kind == .bytes { index = file.columnIndex(named: name + ".bytes") }
            guard let index else {
                if key.isOptional { continue }
                let hint = kind == .bytes ? " (a binary column, or a struct with a `bytes` field)" : ""
                throw ParquetError(.schema, file: file.path, column: name,
                                   reason: "the shard has no column \(name)\(hint); it has: "
                                   + file.columns.map(\.name).joined(separator: ", "))
            }
            let d = file.columns[index]
            guard PickAPicColumns.accepts(kind, d) else {
                throw ParquetError(.schema, file: file.path, column: d.name,
                                   reason: "stored as \(d.typeDescription), which cannot hold \(PickAPicColumns.describe(kind))")
            }
            if d.maxRepetitionLevel > 0 {
                throw ParquetError(.unsupported, file: file.path, column: d.name,
                                   reason: "a repeated (list) column; Pick-a-Pic columns hold one value per row")
            }
            out.append(Column(key: key, name: name, index: index, kind: kind, descriptor: d))
        }
        columns = out
    }

    static func accepts(_ kind: Kind, _ d: ParquetColumnDescriptor) -> Bool {
        switch kind {
        case .string, .bytes: return d.physicalType == .byteArray
        case .number: return [.double, .float, .int32, .int64].contains(d.physicalType) && d.timestampUnit == nil
        case .integer: return [.int32, .int64].contains(d.physicalType) && d.timestampUnit == nil
        case .boolean: return d.physicalType == .boolean
        case .time: return d.physicalType == .byteArray || d.timestampUnit != nil
        }
    }

    static func describe(_ kind: Kind) -> String {
        switch kind {
        case .string: return "text"
        case .bytes: return "image bytes"
        case .number: return "a label (a float)"
        case .integer: return "an integer id"
        case .boolean: return "a boolean"
        case .time: return "a time (string or timestamp)"
        }
    }

    /// Converted values of one row, by key.
    struct Values {
        var strings: [PairRow.CodingKeys: String] = [:]
        var bytes: [PairRow.CodingKeys: [UInt8]] = [:]
        var numbers: [PairRow.CodingKeys: Double] = [:]
        var integers: [PairRow.CodingKeys: Int] = [:]
        var booleans: [PairRow.CodingKeys: Bool] = [:]
    }

    /// Converts one column value; nil values are allowed only for optional columns (best_image_uid's null
    /// becomes "", as ties carry no best image).
    static func store(_ value: ParquetValue?, column: Column, into values: inout Values, file: String, row: Int) throws {
        guard let key = column.key else { return }
        func fail(_ defect: RowDefect, _ detail: String) -> RowError {
            RowError(file: file, line: row, column: column.name, defect: defect, detail: detail)
        }
        guard let value else {
            if key == .bestImageUID { values.strings[key] = ""; return }
            if key.isOptional { return }
            throw fail(.wrongType, "\(column.name) is null")
        }
        switch (column.kind, value) {
        case (.string, .bytes(let b)): values.strings[key] = String(decoding: b, as: UTF8.self)
        case (.bytes, .bytes(let b)): values.bytes[key] = b
        case (.number, .double(let d)): values.numbers[key] = d
        case (.number, .float(let f)): values.numbers[key] = Double(f)
        case (.number, .int32(let i)): values.numbers[key] = Double(i)
        case (.number, .int64(let i)): values.numbers[key] = Double(i)
        case (.integer, .int32(let i)): values.integers[key] = Int(i)
        case (.integer, .int64(let i)): values.integers[key] = Int(i)
        case (.boolean, .bool(let b)): values.booleans[key] = b
        case (.time, .bytes(let b)): values.strings[key] = String(decoding: b, as: UTF8.self)
        case (.time, .int64(let t)):
            guard let unit = column.descriptor.timestampUnit else { throw fail(.wrongType, "INT64 time without a unit") }
            values.strings[key] = ParquetTimestamp.iso8601(t, unit: unit.unit, utc: unit.utc)
        case (.time, .int96(let nanos, let day)):
            values.strings[key] = ParquetTimestamp.iso8601(nanosOfDay: nanos, julianDay: day)
        default:
            throw fail(.wrongType, "holds a \(value.typeName) value, expected \(describe(column.kind))")
        }
    }

    /// The row (image paths left empty for the importer to fill) and the two images' bytes.
    static func row(from v: Values) -> (PairRow, [UInt8], [UInt8]) {
        let row = PairRow(
            caption: v.strings[.caption] ?? "", jpg0: "", jpg1: "",
            label0: v.numbers[.label0] ?? 0, label1: v.numbers[.label1] ?? 0,
            userID: v.integers[.userID] ?? 0, rankingID: v.integers[.rankingID] ?? 0,
            image0UID: v.strings[.image0UID] ?? "", image1UID: v.strings[.image1UID] ?? "",
            bestImageUID: v.strings[.bestImageUID] ?? "",
            model0: v.strings[.model0] ?? "", model1: v.strings[.model1] ?? "",
            hasLabel: v.booleans[.hasLabel] ?? false, areDifferent: v.booleans[.areDifferent] ?? false,
            createdAt: v.strings[.createdAt] ?? "",
            numExamplePerPrompt: v.integers[.numExamplePerPrompt],
            caption0: v.strings[.caption0], caption1: v.strings[.caption1])
        return (row, v.bytes[.jpg0] ?? [], v.bytes[.jpg1] ?? [])
    }
}
