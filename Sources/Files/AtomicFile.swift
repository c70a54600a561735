import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes whole files atomically: a reader sees either the old file or the complete new one, never a
/// prefix — even if the process is killed or the machine loses power mid-write. The bytes go to a temp
/// file in the same directory (rename is atomic only within one file system), are fsync'ed, then the
/// temp file is renamed over the destination and the directory entry is fsync'ed.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        try data.withUnsafeBytes { try write(UnsafeRawBufferPointer($0), to: path) }
    }

    public static func write(_ bytes: [UInt8], to path: String) throws {
        try bytes.withUnsafeBytes { try write($0, to: path) }
    }

    public static func write(_ string: String, to path: String) throws {
        try write(Data(string.utf8), to: path)
    }

    public static func write(_ bytes: UnsafeRawBufferPointer, to path: String) throws {
        guard !path.isEmpty else { throw AtomicFileError(path: path, operation: "write", reason: "empty path") }
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        try createDirectories(directory)

        // Unique per process and call, so concurrent writers never share a temp file.
        let tempPath = directory + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        let fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AtomicFileError.posix(path: tempPath, operation: "create temp file") }
        var closed = false
        var renamed = false
        defer {
            if !closed { close(fd) }
            if !renamed { unlink(tempPath) }
        }
        try writeAll(fd: fd, bytes, path: tempPath)
        guard fsync(fd) == 0 else { throw AtomicFileError.posix(path: tempPath, operation: "fsync") }
        closed = true
        guard close(fd) == 0 else { throw AtomicFileError.posix(path: tempPath, operation: "close") }
        guard rename(tempPath, path) == 0 else { throw AtomicFileError.posix(path: path, operation: "rename temp file onto") }
        renamed = true
        syncDirectory(directory)
    }

    /// `mkdir -p`: creates the directory and its missing parents; an existing directory is fine.
    public static func createDirectories(_ path: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            if isDir.boolValue { return }
            throw AtomicFileError(path: path, operation: "create directory",
                                  reason: "a file (not a directory) exists at this path; move it or choose another output path")
        }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw AtomicFileError(path: path, operation: "create directory", reason: "\(error.localizedDescription)")
        }
    }

    /// Makes a completed rename durable. Best effort: some file systems refuse fsync on directories.
    public static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { _ = fsync(fd); close(fd) }
    }

    /// `write(2)` may write fewer bytes than asked or be interrupted; loop until everything is out.
    static func writeAll(fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        guard var p = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            #if canImport(Glibc)
            let n = Glibc.write(fd, p, remaining)
            #else
            let n = Darwin.write(fd, p, remaining)
            #endif
            if n < 0 {
                if errno == EINTR { continue }
                throw AtomicFileError.posix(path: path, operation: "write")
            }
            p += n
            remaining -= n
        }
    }
}

/// A file-system failure, naming the path, the operation and the system's reason.
public struct AtomicFileError: Error, CustomStringConvertible, LocalizedError {
    public let path: String
    public let operation: String
    public let reason: String

    public init(path: String, operation: String, reason: String) {
        self.path = path
        self.operation = operation
        self.reason = reason
    }

    static func posix(path: String, operation: String) -> AtomicFileError {
        let code = errno
        var hint = ""
        switch code {
        case EACCES, EPERM: hint = "; check the permissions of the directory"
        case ENOSPC: hint = "; the disk is full, free some space"
        case EROFS: hint = "; the file system is read-only, choose another output path"
        default: break
        }
        return AtomicFileError(path: path, operation: operation, reason: String(cString: strerror(code)) + hint)
    }

    public var description: String { "cannot \(operation) \(path): \(reason)" }
    public var errorDescription: String? { description }
}
