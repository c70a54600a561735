/// The parts of Parquet's Thrift metadata (parquet-format, parquet.thrift) this reader uses: the footer's
/// `FileMetaData` (schema, row groups, column chunks) and each page's `PageHeader`. Field ids are the
/// ones in parquet.thrift; unknown fields are skipped.
enum ParquetPhysicalType: Int32, Sendable {
    case boolean = 0, int32 = 1, int64 = 2, int96 = 3, float = 4, double = 5, byteArray = 6, fixedLenByteArray = 7
}

enum ParquetCodec: Int32, Sendable {
    case uncompressed = 0, snappy = 1, gzip = 2, lzo = 3, brotli = 4, lz4 = 5, zstd = 6, lz4Raw = 7
}

enum ParquetEncoding: Int32, Sendable {
    case plain = 0, plainDictionary = 2, rle = 3, bitPacked = 4, deltaBinaryPacked = 5
    case deltaLengthByteArray = 6, deltaByteArray = 7, rleDictionary = 8, byteStreamSplit = 9
}

enum ParquetRepetition: Int32, Sendable {
    case required = 0, optional = 1, repeated = 2
}

public enum ParquetTimeUnit: Sendable, Equatable {
    case millis, micros, nanos
}

/// Logical annotations this reader acts on (others are kept as `.other`).
enum ParquetLogicalType: Sendable, Equatable {
    case string
    case timestamp(unit: ParquetTimeUnit, utc: Bool)
    case other
}

struct ParquetSchemaElement: Sendable {
    var type: ParquetPhysicalType?
    var typeLength: Int32?
    var repetition: ParquetRepetition?
    var name: String = ""
    var numChildren: Int32 = 0
    var convertedType: Int32?
    var logicalType: ParquetLogicalType?
}

struct ParquetColumnMetaData: Sendable {
    var type: Int32 = -1
    var encodings: [Int32] = []
    var pathInSchema: [String] = []
    var codec: Int32 = 0
    var numValues: Int64 = 0
    var totalUncompressedSize: Int64 = 0
    var totalCompressedSize: Int64 = 0
    var dataPageOffset: Int64 = 0
    var dictionaryPageOffset: Int64?
}

struct ParquetColumnChunk: Sendable {
    var filePath: String?
    var metaData: ParquetColumnMetaData?
}

struct ParquetRowGroup: Sendable {
    var columns: [ParquetColumnChunk] = []
    var numRows: Int64 = 0
}

struct ParquetFileMetaData: Sendable {
    var version: Int32 = 0
    var schema: [ParquetSchemaElement] = []
    var numRows: Int64 = 0
    var rowGroups: [ParquetRowGroup] = []
    var createdBy: String?
}

enum ParquetPageType: Int32, Sendable {
    case dataPage = 0, indexPage = 1, dictionaryPage = 2, dataPageV2 = 3
}

struct ParquetDataPageHeader: Sendable {
    var numValues: Int32 = 0
    var encoding: Int32 = 0
    var definitionLevelEncoding: Int32 = 3
    var repetitionLevelEncoding: Int32 = 3
}

struct ParquetDataPageHeaderV2: Sendable {
    var numValues: Int32 = 0
    var numNulls: Int32 = 0
    var numRows: Int32 = 0
    var encoding: Int32 = 0
    var definitionLevelsByteLength: Int32 = 0
    var repetitionLevelsByteLength: Int32 = 0
    var isCompressed = true
}

struct ParquetDictionaryPageHeader: Sendable {
    var numValues: Int32 = 0
    var encoding: Int32 = 0
}

struct ParquetPageHeader: Sendable {
    var type: Int32 = -1
    var uncompressedPageSize: Int32 = 0
    var compressedPageSize: Int32 = 0
    var dataPage: ParquetDataPageHeader?
    var dictionaryPage: ParquetDictionaryPageHeader?
    var dataPageV2: ParquetDataPageHeaderV2?
}

// MARK: Decoding from the compact protocol

extension ParquetFileMetaData {
    init(thrift r: inout ThriftCompactReader) throws {
        self.init()
        try r.readStruct { id, type, r in
            switch (id, type) {
            case (1, .i32): self.version = try r.i32()
            case (2, .list): self.schema = try r.list { try ParquetSchemaElement(thrift: &$0) }
            case (3, .i64): self.numRows = try r.i64()
            case (4, .list): self.rowGroups = try r.list { try ParquetRowGroup(thrift: &$0) }
            case (6, .binary): self.createdBy = try r.string()
            default: return false
            }
            return true
        }
    }
}

extension ParquetSchemaElement {
    init(thrift r: inout ThriftCompactReader) throws {
        self.init()
        try r.readStruct { id, type, r in
            switch (id, type) {
            case (1, .i32):
                let v = try r.i32()
                guard let t = ParquetPhysicalType(rawValue: v) else { throw r.cursor.corrupt("unknown physical type \(v)") }
                self.type = t
            case (2, .i32): self.typeLength = try r.i32()
            case (3, .i32):
                let v = try r.i32()
                guard let rep = ParquetRepetition(rawValue: v) else { throw r.cursor.corrupt("unknown repetition type \(v)") }
                self.repetition = rep
            case (4, .binary): self.name = try r.string()
            case (5, .i32): self.numChildren = try r.i32()
            case (6, .i32): self.convertedType = try r.i32()
            case (10, .structure): self.logicalType = try ParquetLogicalType(thrift: &r)
            default: return false
            }
            return true
        }
    }
}

extension ParquetLogicalType {
    /// LogicalType is a union: exactly one field set. STRING = 1, TIMESTAMP = 8.
    init(thrift r: inout ThriftCompactReader) throws {
        var result = ParquetLogicalType.other
        try r.readStruct { id, type, r in
            switch (id, type) {
            case (1, .structure):
                try r.skip(.structure)
                result = .string
            case (8, .structure):
                var utc = false
                var unit = ParquetTimeUnit.micros
                try r.readStruct { id, type, r in
                    switch (id, type) {
                    case (1, .boolTrue), (1, .boolFalse): utc = try r.bool(type)
                    case (2, .structure):
                        // TimeUnit union: MILLIS = 1, MICROS = 2, NANOS = 3.
                        try r.readStruct { id, type, r in
                            guard type == .structure else { return false }
                            try r.skip(.structure)
                            switch id {
                            case 1: unit = .millis
                            case 2: unit = .micros
                            case 3: unit = .nanos
                            default: throw r.cursor.corrupt("unknown timestamp unit \(id)")
                            }
                            return true
                        }
                    default: return false
                    }
                    return true
                }
                result = .timestamp(unit: unit, utc: utc)
            default: return false
            }
            return true
        }
        self = result
    }
}

extension ParquetRowGroup {
    init(thrift r: inout ThriftCompactReader) throws {
        self.init()
        try r.readStruct { id, type, r in
            switch (id, type) {
            case (1, .list): self.columns = try r.list { try ParquetColumnChunk(thrift: &$0) }
            case (3, .i64): self.numRows = try r.i64()
            default: return false
            }
            return true
        }
    }
}

extension ParquetColumnChunk {
    init(thrift r: inout ThriftCompactReader) throws {
        self.init()
        try r.readStruct { id, type, r in
            switch (id, type) {
            case (1, .binary): self.filePath = try r.string()
            case (3, .structure): self.metaData = try ParquetColumnMetaData(thrift: &r)
            default: return false
            }
            return true
        }
    }
}

extension ParquetColumnMetaData {
    init(thrift r: inout ThriftCompactReader) throws {
        self.init()
        try r.readStruct { id, type, r in
            switch (id, type) {
            case (1, .i32): self.type = try r.i32()
            case (2, .list): self.encodings = try r.list { try $0.i32() }
            case (3, .list): self.pathInSchema = try r.list { try $0.string() }
            case (4, .i32): self.codec = try r.i32()
            case (5, .i64): self.numValues = try r.i64()
            case (6, .i64): self.totalUncompressedSize = try r.i64()
            case (7, .i64): self.totalCompressedSize = try r.i64()
            case (9, .i64): self.dataPageOffset = try r.i64()
            case (11, .i64): self.dictionaryPageOffset = try r.i64()
            default: return false
            }
            return true
        }
    }
}

extension ParquetPageHeader {
    init(thrift r: inout ThriftCompactReader) throws {
        self.init()
        try r.readStruct { id, type, r in
            switch (id, type) {
            case (1, .i32): self.type = try r.i32()
            case (2, .i32): self.uncompressedPageSize = try r.i32()
            case (3, .i32): self.compressedPageSize = try r.i32()
            case (5, .structure):
                var h = ParquetDataPageHeader()
                try r.readStruct { id, type, r in
                    switch (id, type) {
                    case (1, .i32): h.numValues = try r.i32()
                    case (2, .i32): h.encoding = try r.i32()
                    case (3, .i32): h.definitionLevelEncoding = try r.i32()
                    case (4, .i32): h.repetitionLevelEncoding = try r.i32()
                    default: return false
                    }
                    return true
                }
                self.dataPage = h
            case (7, .structure):
                var h = ParquetDictionaryPageHeader()
                try r.readStruct { id, type, r in
                    switch (id, type) {
                    case (1, .i32): h.numValues = try r.i32()
                    case (2, .i32): h.encoding = try r.i32()
                    default: return false
                    }
                    return true
                }
                self.dictionaryPage = h
            case (8, .structure):
                var h = ParquetDataPageHeaderV2()
                try r.readStruct { id, type, r in
                    switch (id, type) {
                    case (1, .i32): h.numValues = try r.i32()
                    case (2, .i32): h.numNulls = try r.i32()
                    case (3, .i32): h.numRows = try r.i32()
                    case (4, .i32): h.encoding = try r.i32()
                    case (5, .i32): h.definitionLevelsByteLength = try r.i32()
                    case (6, .i32): h.repetitionLevelsByteLength = try r.i32()
                    case (7, .boolTrue), (7, .boolFalse): h.isCompressed = try r.bool(type)
                    default: return false
                    }
                    return true
                }
                self.dataPageV2 = h
            default: return false
            }
            return true
        }
    }
}
