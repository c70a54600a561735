// ImageIOError: every read/decode/encode/write failure, naming the file and what to do about it.
import Foundation

public struct ImageIOError: Error, CustomStringConvertible, LocalizedError, Equatable {
    public enum Kind: Sendable, Equatable {
        case fileNotFound, unreadable, empty, unknownFormat, corruptPNG, corruptJPEG
        case unsupported, tooLarge, outOfMemory, invalidImage, writeFailed
    }
    public let kind: Kind
    /// The file path, or a caller-supplied label for in-memory bytes (e.g. "pairs.parquet row 17, jpg_0").
    public let source: String
    /// What went wrong (from the decoder when there is one).
    public let reason: String
    /// What the user can do about it.
    public let hint: String

    public init(_ kind: Kind, source: String, reason: String, hint: String) {
        self.kind = kind
        self.source = source
        self.reason = reason
        self.hint = hint
    }

    public var description: String { "\(source): \(reason) — \(hint)" }
    public var errorDescription: String? { description }
}
