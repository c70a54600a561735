/// A leaf column of a Parquet schema: its path (e.g. ["jpg_0", "bytes"] for a struct field), physical
/// type, annotations, and the maximum definition/repetition levels implied by the optional/repeated
/// fields along its path.
public struct ParquetColumnDescriptor: Sendable, Equatable {
    public let path: [String]
    let physicalType: ParquetPhysicalType
    let typeLength: Int
    let logicalType: ParquetLogicalType?
    let convertedType: Int32?
    public let maxDefinitionLevel: Int
    public let maxRepetitionLevel: Int

    /// "jpg_0.bytes"
    public var name: String { path.joined(separator: ".") }

    /// A readable type name for messages ("BYTE_ARRAY (string)", "INT64 (timestamp[us])").
    public var typeDescription: String {
        let physical: String
        switch physicalType {
        case .boolean: physical = "BOOLEAN"
        case .int32: physical = "INT32"
        case .int64: physical = "INT64"
        case .int96: physical = "INT96"
        case .float: physical = "FLOAT"
        case .double: physical = "DOUBLE"
        case .byteArray: physical = "BYTE_ARRAY"
        case .fixedLenByteArray: physical = "FIXED_LEN_BYTE_ARRAY(\(typeLength))"
        }
        if isString { return physical + " (string)" }
        if let unit = timestampUnit { return physical + " (timestamp[\(unit.unit)])" }
        return physical
    }

    /// UTF-8 text (logical STRING or converted UTF8).
    var isString: Bool { logicalType == .string || convertedType == 0 }

    /// The timestamp annotation of an INT64 column (logical TIMESTAMP, or converted TIMESTAMP_MILLIS = 9 /
    /// TIMESTAMP_MICROS = 10); INT96 columns are always timestamps (legacy Impala/Spark nanoseconds).
    var timestampUnit: (unit: ParquetTimeUnit, utc: Bool)? {
        if case .timestamp(let unit, let utc)? = logicalType { return (unit, utc) }
        if physicalType == .int64 && convertedType == 9 { return (.millis, true) }
        if physicalType == .int64 && convertedType == 10 { return (.micros, true) }
        if physicalType == .int96 { return (.nanos, true) }
        return nil
    }
}

extension ParquetTimeUnit {
    var unit: String {
        switch self {
        case .millis: return "ms"
        case .micros: return "us"
        case .nanos: return "ns"
        }
    }
}

enum ParquetSchemaBuilder {
    /// Walks the depth-first schema list (root first) and returns the leaves in column-chunk order.
    static func leaves(of schema: [ParquetSchemaElement], file: String) throws -> [ParquetColumnDescriptor] {
        guard let root = schema.first else {
            throw ParquetError(.corrupt, file: file, reason: "the footer has an empty schema")
        }
        var out: [ParquetColumnDescriptor] = []
        var index = 1
        func walk(_ count: Int, path: [String], def: Int, rep: Int, depth: Int) throws {
            guard depth < 32 else { throw ParquetError(.corrupt, file: file, reason: "schema nested more than 32 deep") }
            for _ in 0..<count {
                guard index < schema.count else {
                    throw ParquetError(.corrupt, file: file, reason: "schema lists fewer elements than its groups declare")
                }
                let e = schema[index]
                index += 1
                var d = def, r = rep
                switch e.repetition ?? .required {
                case .required: break
                case .optional: d += 1
                case .repeated: d += 1; r += 1
                }
                let p = path + [e.name]
                if e.numChildren > 0 {
                    try walk(Int(e.numChildren), path: p, def: d, rep: r, depth: depth + 1)
                } else {
                    guard let type = e.type else {
                        throw ParquetError(.corrupt, file: file, column: p.joined(separator: "."),
                                           reason: "leaf column without a physical type")
                    }
                    out.append(ParquetColumnDescriptor(path: p, physicalType: type, typeLength: Int(e.typeLength ?? 0),
                                                       logicalType: e.logicalType, convertedType: e.convertedType,
                                                       maxDefinitionLevel: d, maxRepetitionLevel: r))
                }
            }
        }
        try walk(Int(root.numChildren), path: [], def: 0, rep: 0, depth: 0)
        guard index == schema.count else {
            throw ParquetError(.corrupt, file: file, reason: "schema has \(schema.count - index) elements outside the root group")
        }
        return out
    }
}
