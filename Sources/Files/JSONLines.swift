import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// JSON Lines files (one JSON value per line), used for metrics logs: appending a record never rewrites
/// the file, and a run that is killed mid-append leaves at most one partial last line, which `read`
/// can skip (`allowTruncatedLastLine`).
public enum JSONLines {
    /// Appends `value` as one line. The line is written with a single `write(2)` on an `O_APPEND`
    /// descriptor, so concurrent appenders do not interleave within a line.
    public static func append<T: Encodable>(_ value: T, to path: String) throws {
        let line = try encodeLine(value, path: path)
        try AtomicFile.createDirectories(URL(fileURLWithPath: path).deletingLastPathComponent().path)
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AtomicFileError.posix(path: path, operation: "open for appending") }
        defer { close(fd) }
        try line.withUnsafeBytes { try AtomicFile.writeAll(fd: fd, $0, path: path) }
    }

    /// Replaces the file with `values`, one line each in `append`'s format, atomically (a crash leaves
    /// either the old file or the new one) — for logs cut back to a resume point.
    public static func write<T: Encodable>(_ values: [T], to path: String) throws {
        var data = Data()
        for value in values { data.append(try encodeLine(value, path: path)) }
        try AtomicFile.write(data, to: path)
    }

    /// One record as a newline-terminated line. Sorted keys keep logs diff-able; no pretty printing,
    /// which would break the one-line format.
    private static func encodeLine<T: Encodable>(_ value: T, path: String) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            var line = try encoder.encode(value)
            line.append(0x0A)
            return line
        } catch {
            throw JSONLinesError.encoding(path: path, reason: "\(error)")
        }
    }

    /// The non-blank lines of a file with their 1-based line numbers.
    public static func readLines(from path: String) throws -> [(line: Int, text: String)] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw JSONLinesError.unreadable(path: path, reason: error.localizedDescription)
        }
        var out: [(line: Int, text: String)] = []
        var number = 0
        for slice in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            number += 1
            guard let text = String(data: Data(slice), encoding: .utf8) else {
                throw JSONLinesError.invalidLine(path: path, line: number, reason: "not valid UTF-8")
            }
            if text.allSatisfy({ $0.isWhitespace }) { continue }
            out.append((number, text))
        }
        return out
    }

    /// Decodes every non-blank line as `T`. With `allowTruncatedLastLine`, a final line that has no
    /// newline and does not decode (the trace of an interrupted append) is dropped instead of failing.
    public static func read<T: Decodable>(_ type: T.Type, from path: String,
                                          allowTruncatedLastLine: Bool = false) throws -> [(line: Int, value: T)] {
        let lines = try readLines(from: path)
        // Only an unterminated last line can be the trace of an interrupted append.
        let lastLineComplete = allowTruncatedLastLine ? ((try? endsWithNewline(path)) ?? true) : true
        let decoder = JSONDecoder()
        var out: [(line: Int, value: T)] = []
        out.reserveCapacity(lines.count)
        for (i, entry) in lines.enumerated() {
            do {
                out.append((entry.line, try decoder.decode(T.self, from: Data(entry.text.utf8))))
            } catch {
                if allowTruncatedLastLine && i == lines.count - 1 && !lastLineComplete { break }
                throw JSONLinesError.invalidLine(path: path, line: entry.line, reason: "\(error)")
            }
        }
        return out
    }

    private static func endsWithNewline(_ path: String) throws -> Bool {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        let size = try handle.seekToEnd()
        if size == 0 { return true }
        try handle.seek(toOffset: size - 1)
        return try handle.read(upToCount: 1) == Data([0x0A])
    }
}

public enum JSONLinesError: Error, CustomStringConvertible, LocalizedError {
    case unreadable(path: String, reason: String)
    case invalidLine(path: String, line: Int, reason: String)
    case encoding(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "cannot read JSON lines file \(path): \(reason)"
        case .invalidLine(let path, let line, let reason):
            return "\(path):\(line): not a valid record (\(reason)); fix or delete that line"
        case .encoding(let path, let reason):
            return "cannot encode a record for \(path): \(reason)"
        }
    }
    public var errorDescription: String? { description }
}
