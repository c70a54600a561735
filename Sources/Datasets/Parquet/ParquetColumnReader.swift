/// Reads the values of one column chunk (one column of one row group) in row order, one page at a time.
///
/// Supports data pages v1 and v2, dictionary pages, the PLAIN, PLAIN_DICTIONARY/RLE_DICTIONARY and RLE
/// (booleans) encodings, RLE definition levels for nullable and struct-nested columns, and the
/// UNCOMPRESSED, SNAPPY and GZIP codecs. Repeated (list) columns and other encodings/codecs are a
/// `.unsupported` error naming the column.
public final class ParquetColumnReader {
    public let descriptor: ParquetColumnDescriptor
    private let file: ParquetFile
    private let codec: ParquetCodec
    private var offset: Int
    private let end: Int
    private var dictionary: [ParquetValue]?
    private var levels: [Int32] = []
    private var values: [ParquetValue] = []
    private var levelIndex = 0
    private var valueIndex = 0
    private var pageCount = 0
    /// Values (including nulls) not yet returned from the whole chunk.
    public private(set) var remaining: Int
    /// Pages decoded so far (for tests and diagnostics).
    public private(set) var dataPagesRead = 0
    public private(set) var dictionaryPagesRead = 0

    init(file: ParquetFile, descriptor: ParquetColumnDescriptor, meta: ParquetColumnMetaData, rows: Int) throws {
        self.file = file
        self.descriptor = descriptor
        guard descriptor.maxRepetitionLevel == 0 else {
            throw ParquetError(.unsupported, file: file.path, column: descriptor.name,
                               reason: "repeated (list/map) columns are not supported")
        }
        guard let codec = ParquetCodec(rawValue: meta.codec) else {
            throw ParquetError(.unsupported, file: file.path, column: descriptor.name, reason: "unknown compression codec \(meta.codec)")
        }
        switch codec {
        case .uncompressed, .snappy, .gzip: break
        default:
            throw ParquetError(.unsupported, file: file.path, column: descriptor.name,
                               reason: "compression codec \(codec) is not supported")
        }
        self.codec = codec
        var start = Int(meta.dataPageOffset)
        if let d = meta.dictionaryPageOffset, d > 0, d < start { start = Int(d) }
        offset = start
        end = start + Int(meta.totalCompressedSize)
        guard start >= 4, meta.totalCompressedSize >= 0, end <= file.fileSize else {
            throw ParquetError(.corrupt, file: file.path, column: descriptor.name,
                               reason: "column chunk at bytes \(start)..<\(end) lies outside the \(file.fileSize)-byte file")
        }
        guard meta.numValues == Int64(rows) else {
            throw ParquetError(.corrupt, file: file.path, column: descriptor.name,
                               reason: "column chunk holds \(meta.numValues) values for \(rows) rows")
        }
        remaining = rows
    }

    private func corrupt(_ reason: String) -> ParquetError {
        ParquetError(.corrupt, file: file.path, column: descriptor.name, reason: reason)
    }

    private func unsupported(_ reason: String) -> ParquetError {
        ParquetError(.unsupported, file: file.path, column: descriptor.name, reason: reason)
    }

    /// The next value in row order; nil for a null (at any nesting level).
    public func next() throws -> ParquetValue? {
        guard remaining > 0 else { throw corrupt("read past the last value of the column chunk") }
        while levelIndex >= pageCount { try loadDataPage() }
        remaining -= 1
        let maxDef = descriptor.maxDefinitionLevel
        if maxDef > 0 {
            let level = levels[levelIndex]
            levelIndex += 1
            if level < maxDef { return nil }
        } else {
            levelIndex += 1
        }
        guard valueIndex < values.count else { throw corrupt("a page holds fewer values than its levels declare") }
        defer { valueIndex += 1 }
        return values[valueIndex]
    }

    // MARK: Pages

    private func loadDataPage() throws {
        while true {
            guard offset < end else { throw corrupt("the column chunk ends before all its values were read") }
            let (header, headerSize) = try readPageHeader()
            let bodyStart = offset + headerSize
            let size = Int(header.compressedPageSize)
            guard size >= 0, header.uncompressedPageSize >= 0, bodyStart + size <= end else {
                throw corrupt("page of \(size) bytes at byte \(bodyStart) runs past the column chunk")
            }
            let body = try file.read(offset: bodyStart, count: size, column: descriptor.name)
            offset = bodyStart + size
            switch ParquetPageType(rawValue: header.type) {
            case .dictionaryPage?:
                guard let h = header.dictionaryPage else { throw corrupt("dictionary page without its header") }
                guard h.encoding == ParquetEncoding.plain.rawValue || h.encoding == ParquetEncoding.plainDictionary.rawValue else {
                    throw unsupported("dictionary page encoding \(encodingName(h.encoding))")
                }
                guard h.numValues >= 0, Int(h.numValues) <= Self.maxPageValues else {
                    throw corrupt("dictionary page declares \(h.numValues) values")
                }
                let data = try decompress(body[...], to: Int(header.uncompressedPageSize))
                dictionary = try data.withUnsafeBytes { raw in
                    var c = ByteCursor(raw, context: (file.path, descriptor.name))
                    return try decodePlain(&c, count: Int(h.numValues))
                }
                dictionaryPagesRead += 1
            case .dataPage?:
                guard let h = header.dataPage else { throw corrupt("data page without its header") }
                let data = try decompress(body[...], to: Int(header.uncompressedPageSize))
                try data.withUnsafeBytes { raw in
                    var c = ByteCursor(raw, context: (file.path, descriptor.name))
                    try decodePageV1(&c, h)
                }
                return
            case .dataPageV2?:
                guard let h = header.dataPageV2 else { throw corrupt("data page v2 without its header") }
                try decodePageV2(body, h, uncompressedSize: Int(header.uncompressedPageSize))
                return
            case .indexPage?:
                continue
            case nil:
                throw corrupt("unknown page type \(header.type)")
            }
        }
    }

    /// Page headers have no length prefix: read a window and grow it until the header parses.
    private func readPageHeader() throws -> (ParquetPageHeader, Int) {
        var window = min(end - offset, 1024)
        while true {
            let bytes = try file.read(offset: offset, count: window, column: descriptor.name)
            do {
                return try bytes.withUnsafeBytes { raw in
                    var reader = ThriftCompactReader(ByteCursor(raw, context: (file.path, descriptor.name)))
                    let header = try ParquetPageHeader(thrift: &reader)
                    return (header, reader.position)
                }
            } catch {
                // Large statistics can make a header longer than the window: retry until the chunk end.
                if window >= end - offset { throw error }
                window = min(end - offset, window * 4)
            }
        }
    }

    private func decompress(_ body: ArraySlice<UInt8>, to size: Int) throws -> [UInt8] {
        guard size >= 0 else { throw corrupt("negative uncompressed page size \(size)") }
        let out: [UInt8]
        switch codec {
        case .uncompressed:
            out = Array(body)
        case .snappy:
            do { out = try body.withUnsafeBytes { try Snappy.decompress($0, expectedSize: size) } } catch {
                throw corrupt("snappy page does not decompress (\(error))")
            }
        case .gzip:
            do { out = try body.withUnsafeBytes { try Inflate.decompress($0, expectedSize: size) } } catch {
                throw corrupt("gzip page does not decompress (\(error))")
            }
        default:
            throw unsupported("compression codec \(codec)")
        }
        guard out.count == size else { throw corrupt("page decompressed to \(out.count) bytes, header says \(size)") }
        return out
    }

    /// No real page holds this many values; a larger count is corruption, refused before allocating.
    static let maxPageValues = 1 << 28

    private func decodePageV1(_ c: inout ByteCursor, _ h: ParquetDataPageHeader) throws {
        let count = Int(h.numValues)
        guard count >= 0, count <= remaining, count <= Self.maxPageValues else {
            throw corrupt("data page declares \(count) values, only \(remaining) remain in the chunk")
        }
        var nonNull = count
        let maxDef = descriptor.maxDefinitionLevel
        if maxDef > 0 {
            guard h.definitionLevelEncoding == ParquetEncoding.rle.rawValue else {
                throw unsupported("definition levels encoded as \(encodingName(h.definitionLevelEncoding))")
            }
            let length = Int(try c.uint32LE())
            try c.need(length, "the definition levels")
            var lc = ByteCursor(c.bytes, from: c.position, to: c.position + length, context: c.context)
            levels = try RLEHybrid.decode(&lc, bitWidth: RLEHybrid.bitWidth(forMax: maxDef), count: count)
            try c.skip(length, "the definition levels")
            nonNull = levels.reduce(0) { $0 + ($1 == Int32(maxDef) ? 1 : 0) }
        }
        values = try decodeValues(&c, encoding: h.encoding, count: nonNull)
        startPage(count)
    }

    private func decodePageV2(_ body: [UInt8], _ h: ParquetDataPageHeaderV2, uncompressedSize: Int) throws {
        let count = Int(h.numValues)
        let repLength = Int(h.repetitionLevelsByteLength), defLength = Int(h.definitionLevelsByteLength)
        guard count >= 0, count <= remaining, count <= Self.maxPageValues, repLength >= 0, defLength >= 0,
              repLength + defLength <= body.count else {
            throw corrupt("data page v2 header is inconsistent (values \(count), level bytes \(repLength)+\(defLength))")
        }
        var nonNull = count - Int(h.numNulls)
        let maxDef = descriptor.maxDefinitionLevel
        try body.withUnsafeBytes { raw in
            if maxDef > 0 {
                var lc = ByteCursor(raw, from: repLength, to: repLength + defLength, context: (file.path, descriptor.name))
                levels = try RLEHybrid.decode(&lc, bitWidth: RLEHybrid.bitWidth(forMax: maxDef), count: count)
                nonNull = levels.reduce(0) { $0 + ($1 == Int32(maxDef) ? 1 : 0) }
            }
        }
        let valuesStart = repLength + defLength
        let data: [UInt8]
        if h.isCompressed {
            data = try decompress(body[valuesStart...], to: uncompressedSize - valuesStart)
        } else {
            data = Array(body[valuesStart...])
        }
        try data.withUnsafeBytes { raw in
            var c = ByteCursor(raw, context: (file.path, descriptor.name))
            values = try decodeValues(&c, encoding: h.encoding, count: nonNull)
        }
        startPage(count)
    }

    private func startPage(_ count: Int) {
        dataPagesRead += 1
        pageCount = count
        levelIndex = 0
        valueIndex = 0
    }

    // MARK: Values

    private func decodeValues(_ c: inout ByteCursor, encoding: Int32, count: Int) throws -> [ParquetValue] {
        switch ParquetEncoding(rawValue: encoding) {
        case .plain?:
            return try decodePlain(&c, count: count)
        case .plainDictionary?, .rleDictionary?:
            guard let dictionary else { throw corrupt("dictionary-encoded page without a dictionary page") }
            if count == 0 { return [] }
            let width = Int(try c.byte())
            let indices = try RLEHybrid.decode(&c, bitWidth: width, count: count)
            var out = [ParquetValue]()
            out.reserveCapacity(count)
            for i in indices {
                guard i >= 0, Int(i) < dictionary.count else {
                    throw corrupt("dictionary index \(i) outside the \(dictionary.count)-entry dictionary")
                }
                out.append(dictionary[Int(i)])
            }
            return out
        case .rle? where descriptor.physicalType == .boolean:
            let length = Int(try c.uint32LE())
            try c.need(length, "RLE booleans")
            var bc = ByteCursor(c.bytes, from: c.position, to: c.position + length, context: c.context)
            let bits = try RLEHybrid.decode(&bc, bitWidth: 1, count: count)
            try c.skip(length, "RLE booleans")
            return bits.map { .bool($0 != 0) }
        default:
            throw unsupported("value encoding \(encodingName(encoding)) (supported: PLAIN, RLE_DICTIONARY, RLE for booleans)")
        }
    }

    private func decodePlain(_ c: inout ByteCursor, count: Int) throws -> [ParquetValue] {
        guard count >= 0 else { throw corrupt("negative value count \(count)") }
        var out = [ParquetValue]()
        out.reserveCapacity(min(count, c.remaining + 1))
        switch descriptor.physicalType {
        case .boolean:
            let bytes = try c.bytes((count + 7) / 8, "PLAIN booleans")
            for i in 0..<count { out.append(.bool(bytes[i >> 3] >> UInt8(i & 7) & 1 != 0)) }
        case .int32:
            try c.need(count * 4, "PLAIN INT32 values")
            for _ in 0..<count { out.append(.int32(Int32(bitPattern: try c.uint32LE()))) }
        case .int64:
            try c.need(count * 8, "PLAIN INT64 values")
            for _ in 0..<count { out.append(.int64(Int64(bitPattern: try c.uint64LE()))) }
        case .int96:
            try c.need(count * 12, "PLAIN INT96 values")
            for _ in 0..<count {
                let nanos = Int64(bitPattern: try c.uint64LE())
                let day = Int32(bitPattern: try c.uint32LE())
                out.append(.int96(nanosOfDay: nanos, julianDay: day))
            }
        case .float:
            try c.need(count * 4, "PLAIN FLOAT values")
            for _ in 0..<count { out.append(.float(Float(bitPattern: try c.uint32LE()))) }
        case .double:
            try c.need(count * 8, "PLAIN DOUBLE values")
            for _ in 0..<count { out.append(.double(Double(bitPattern: try c.uint64LE()))) }
        case .byteArray:
            for _ in 0..<count {
                let n = Int(try c.uint32LE())
                out.append(.bytes(Array(try c.bytes(n, "a PLAIN BYTE_ARRAY value"))))
            }
        case .fixedLenByteArray:
            let n = descriptor.typeLength
            guard n > 0 else { throw corrupt("FIXED_LEN_BYTE_ARRAY without a length") }
            try c.need(count * n, "PLAIN FIXED_LEN_BYTE_ARRAY values")
            for _ in 0..<count { out.append(.bytes(Array(try c.bytes(n, "a FIXED_LEN_BYTE_ARRAY value")))) }
        }
        return out
    }

    private func encodingName(_ e: Int32) -> String {
        switch ParquetEncoding(rawValue: e) {
        case .plain?: return "PLAIN"
        case .plainDictionary?: return "PLAIN_DICTIONARY"
        case .rle?: return "RLE"
        case .bitPacked?: return "BIT_PACKED"
        case .deltaBinaryPacked?: return "DELTA_BINARY_PACKED"
        case .deltaLengthByteArray?: return "DELTA_LENGTH_BYTE_ARRAY"
        case .deltaByteArray?: return "DELTA_BYTE_ARRAY"
        case .rleDictionary?: return "RLE_DICTIONARY"
        case .byteStreamSplit?: return "BYTE_STREAM_SPLIT"
        case nil: return "#\(e)"
        }
    }
}
