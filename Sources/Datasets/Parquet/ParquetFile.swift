import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A Parquet file opened for reading: the footer is parsed at open; column data is read page by page
/// with `pread`, so a multi-gigabyte shard is never held in memory (only one page per open column).
///
/// Layout (parquet-format): "PAR1", column chunks, the Thrift-compact `FileMetaData`, its 4-byte
/// little-endian length, "PAR1". Not thread-safe for concurrent `columnReader` use on one instance
/// beyond the `pread` calls themselves (which are).
public final class ParquetFile {
    public let path: String
    public let fileSize: Int
    public let columns: [ParquetColumnDescriptor]
    let metadata: ParquetFileMetaData
    private let fd: Int32

    public var rowCount: Int { Int(metadata.numRows) }
    public var rowGroupCount: Int { metadata.rowGroups.count }
    public var createdBy: String? { metadata.createdBy }

    public init(path: String) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ParquetError(.io, file: path, reason: "file not found")
        }
        guard !isDirectory.boolValue else { throw ParquetError(.io, file: path, reason: "is a directory, expected a .parquet file") }
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ParquetError(.io, file: path, reason: "cannot open (\(String(cString: strerror(errno))))") }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            close(fd)
            throw ParquetError(.io, file: path, reason: "cannot stat (\(String(cString: strerror(errno))))")
        }
        fileSize = Int(st.st_size)
        do {
            metadata = try ParquetFile.readFooter(fd: fd, size: fileSize, path: path)
            columns = try ParquetSchemaBuilder.leaves(of: metadata.schema, file: path)
            for (g, group) in metadata.rowGroups.enumerated() where group.columns.count != columns.count {
                throw ParquetError(.corrupt, file: path, reason: "row group \(g) has \(group.columns.count) column chunks for \(columns.count) columns")
            }
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

    public func rowCount(ofRowGroup g: Int) -> Int { Int(metadata.rowGroups[g].numRows) }

    /// The leaf column with this dotted name ("caption", "jpg_0.bytes").
    public func columnIndex(named name: String) -> Int? { columns.firstIndex { $0.name == name } }

    /// A reader over column `column` of row group `rowGroup`.
    public func columnReader(rowGroup: Int, column: Int) throws -> ParquetColumnReader {
        let descriptor = columns[column]
        guard rowGroup >= 0, rowGroup < metadata.rowGroups.count else {
            throw ParquetError(.corrupt, file: path, column: descriptor.name, reason: "row group \(rowGroup) does not exist")
        }
        let chunk = metadata.rowGroups[rowGroup].columns[column]
        if chunk.filePath != nil {
            throw ParquetError(.unsupported, file: path, column: descriptor.name,
                               reason: "column data stored in another file (ColumnChunk.file_path)")
        }
        guard let meta = chunk.metaData else {
            throw ParquetError(.unsupported, file: path, column: descriptor.name,
                               reason: "column chunk without metadata (encrypted column?)")
        }
        return try ParquetColumnReader(file: self, descriptor: descriptor, meta: meta,
                                       rows: Int(metadata.rowGroups[rowGroup].numRows))
    }

    /// Reads `count` bytes at `offset`; fewer bytes (end of file) is a `.corrupt` error.
    func read(offset: Int, count: Int, column: String?) throws -> [UInt8] {
        guard offset >= 0, count >= 0, offset <= fileSize, count <= fileSize - offset else {
            throw ParquetError(.corrupt, file: path, column: column,
                               reason: "data at bytes \(offset)..<\(offset + count) lies outside the \(fileSize)-byte file (truncated?)")
        }
        var out = [UInt8](repeating: 0, count: count)
        try ParquetFile.pread(fd: fd, into: &out, offset: offset, path: path)
        return out
    }

    private static func pread(fd: Int32, into out: inout [UInt8], offset: Int, path: String) throws {
        let count = out.count
        try out.withUnsafeMutableBytes { buf in
            var done = 0
            while done < count {
                guard let base = buf.baseAddress else { return }
                #if canImport(Glibc)
                let n = Glibc.pread(fd, base + done, count - done, off_t(offset + done))
                #else
                let n = Darwin.pread(fd, base + done, count - done, off_t(offset + done))
                #endif
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ParquetError(.io, file: path, reason: "read failed (\(String(cString: strerror(errno))))")
                }
                if n == 0 { throw ParquetError(.corrupt, file: path, reason: "file ends early at byte \(offset + done)") }
                done += n
            }
        }
    }

    private static func readFooter(fd: Int32, size: Int, path: String) throws -> ParquetFileMetaData {
        guard size > 0 else { throw ParquetError(.corrupt, file: path, reason: "the file is empty") }
        guard size >= 12 else { throw ParquetError(.corrupt, file: path, reason: "only \(size) bytes: too short for Parquet") }
        var head = [UInt8](repeating: 0, count: 4)
        try pread(fd: fd, into: &head, offset: 0, path: path)
        var tail = [UInt8](repeating: 0, count: 8)
        try pread(fd: fd, into: &tail, offset: size - 8, path: path)
        let magic: [UInt8] = Array("PAR1".utf8)
        if Array(tail[4...]) == Array("PARE".utf8) {
            throw ParquetError(.unsupported, file: path, reason: "encrypted Parquet footer")
        }
        guard head == magic else { throw ParquetError(.corrupt, file: path, reason: "does not start with the Parquet magic PAR1 (not a Parquet file)") }
        guard Array(tail[4...]) == magic else {
            throw ParquetError(.corrupt, file: path, reason: "does not end with PAR1 (truncated download?)")
        }
        let length = Int(UInt32(tail[0]) | UInt32(tail[1]) << 8 | UInt32(tail[2]) << 16 | UInt32(tail[3]) << 24)
        guard length > 0, length <= size - 12 else {
            throw ParquetError(.corrupt, file: path, reason: "footer length \(length) does not fit in the file")
        }
        var footer = [UInt8](repeating: 0, count: length)
        try pread(fd: fd, into: &footer, offset: size - 8 - length, path: path)
        return try footer.withUnsafeBytes { raw in
            var reader = ThriftCompactReader(ByteCursor(raw, context: (path, nil)))
            return try ParquetFileMetaData(thrift: &reader)
        }
    }
}
