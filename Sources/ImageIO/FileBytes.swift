// FileBytes: reads a whole file with POSIX calls, mapping failures to ImageIOError with the system reason.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum FileBytes {
    /// The file's bytes. Missing files, directories and unreadable files throw errors naming `path`.
    static func read(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw openError(path, errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw systemError(path, "cannot be inspected", errno) }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            throw ImageIOError(.unreadable, source: path, reason: "is a directory, not an image file",
                               hint: "pass the path of a .png or .jpg file")
        }
        // The size is a hint (files can change under us): read until end of file.
        var bytes = [UInt8](repeating: 0, count: max(Int(info.st_size), 0))
        var count = 0
        while true {
            if count == bytes.count { bytes.append(contentsOf: [UInt8](repeating: 0, count: max(4096, count))) }
            let n = bytes.withUnsafeMutableBufferPointer { systemRead(fd, $0.baseAddress! + count, $0.count - count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw systemError(path, "cannot be read", errno)
            }
            if n == 0 { break }
            count += n
        }
        bytes.removeSubrange(count...)
        return bytes
    }

    private static func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
        return Glibc.read(fd, buffer, count)
        #else
        return Darwin.read(fd, buffer, count)
        #endif
    }

    private static func openError(_ path: String, _ code: Int32) -> ImageIOError {
        switch code {
        case ENOENT:
            return ImageIOError(.fileNotFound, source: path, reason: "no such file",
                                hint: "check the path (relative paths start at the current directory)")
        case EACCES, EPERM:
            return ImageIOError(.unreadable, source: path, reason: "permission denied",
                                hint: "check the file's permissions")
        default:
            return systemError(path, "cannot be opened", code)
        }
    }

    private static func systemError(_ path: String, _ what: String, _ code: Int32) -> ImageIOError {
        ImageIOError(.unreadable, source: path, reason: "\(what) (\(String(cString: strerror(code))))",
                     hint: "check that the path is a readable regular file")
    }
}
