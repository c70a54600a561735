import Foundation

/// Streams the lines of a file in 1 MB reads, with each line's 1-based number and byte offset, so a
/// split of any size is indexed without holding it in memory.
struct LineScanner {
    struct Line {
        let number: Int
        let offset: Int
        /// The bytes without the newline (and without a trailing "\r").
        let bytes: Data
        /// False for a last line with no newline after it.
        let terminated: Bool
    }

    private let handle: FileHandle
    private let path: String
    private var buffer: [UInt8] = []
    /// Start of the unconsumed bytes in `buffer`, and their offset in the file.
    private var start = 0
    private var fileOffset = 0
    private var searched = 0
    private var eof = false
    private var number = 0

    init(path: String) throws {
        guard let h = FileHandle(forReadingAtPath: path) else {
            throw DatasetError.io(path: path, reason: "cannot be opened for reading (missing or no permission)")
        }
        handle = h
        self.path = path
    }

    func close() { try? handle.close() }

    mutating func next() throws -> Line? {
        while true {
            // Resume the newline search where the previous one stopped (no quadratic rescans).
            if let nl = buffer[max(start, searched)...].firstIndex(of: 0x0A) {
                var end = nl
                if end > start && buffer[end - 1] == 0x0D { end -= 1 }
                number += 1
                let line = Line(number: number, offset: fileOffset, bytes: Data(buffer[start..<end]), terminated: true)
                fileOffset += nl + 1 - start
                start = nl + 1
                searched = start
                return line
            }
            searched = buffer.count
            if eof {
                guard start < buffer.count else { return nil }
                number += 1
                let line = Line(number: number, offset: fileOffset, bytes: Data(buffer[start...]), terminated: false)
                fileOffset += buffer.count - start
                start = buffer.count
                return line
            }
            // Drop consumed bytes before reading more.
            if start > 0 {
                buffer.removeFirst(start)
                searched -= start
                start = 0
            }
            let chunk: Data?
            do { chunk = try handle.read(upToCount: 1 << 20) } catch {
                throw DatasetError.io(path: path, reason: "read failed (\(error.localizedDescription))")
            }
            if let chunk, !chunk.isEmpty { buffer.append(contentsOf: chunk) } else { eof = true }
        }
    }
}

/// Reads one indexed line back with `pread`-style positioned reads (thread-safe: one handle per call).
enum LineReader {
    static func read(path: String, offset: Int, length: Int) throws -> Data {
        guard let h = FileHandle(forReadingAtPath: path) else {
            throw DatasetError.io(path: path, reason: "cannot be opened for reading (was the dataset moved?)")
        }
        defer { try? h.close() }
        do {
            try h.seek(toOffset: UInt64(offset))
            let data = try h.read(upToCount: length) ?? Data()
            guard data.count == length else {
                throw DatasetError.io(path: path, reason: "the file changed since it was indexed (short read at byte \(offset))")
            }
            return data
        } catch let e as DatasetError {
            throw e
        } catch {
            throw DatasetError.io(path: path, reason: "read failed (\(error.localizedDescription))")
        }
    }
}
