/// Token ids of a batch of prompts, row-major `[count, length]`: the input of `TextEncoder`.
public struct TokenBatch: Sendable, Equatable {
    public let ids: [Int32]
    public let count: Int
    public let length: Int

    public var shape: [Int] { [count, length] }

    /// Checks that `ids` fills `[count, length]` and that every id is in `0..<vocabularySize`.
    public init(ids: [Int32], count: Int, length: Int,
                vocabularySize: Int = ByteTokenizer.vocabularySize) throws {
        guard count >= 0, length >= 0, ids.count == count * length else {
            throw TokenizerError.shapeMismatch(idCount: ids.count, count: count, length: length)
        }
        if let i = ids.firstIndex(where: { $0 < 0 || Int($0) >= vocabularySize }) {
            throw TokenizerError.idOutOfRange(row: length == 0 ? 0 : i / length, position: length == 0 ? 0 : i % length,
                                              id: ids[i], vocabularySize: vocabularySize)
        }
        self.ids = ids
        self.count = count
        self.length = length
    }

    /// Rows made by `ByteTokenizer`, valid by construction.
    init(validIDs: [Int32], count: Int, length: Int) {
        ids = validIDs
        self.count = count
        self.length = length
    }

    public func row(_ i: Int) -> ArraySlice<Int32> { ids[(i * length)..<((i + 1) * length)] }
}

/// The byte-level tokenizer of the text encoder (models.py `tokenize`): BOS, the prompt's UTF-8 bytes
/// (ids 0–255, cut to `length − 2` bytes, even inside a multi-byte character), EOS, then PAD up to `length`.
public struct ByteTokenizer: Sendable {
    public static let bos: Int32 = 256
    public static let eos: Int32 = 257
    public static let pad: Int32 = 258
    /// Reserved for vocabulary compatibility; never produced, since every byte has its own id.
    public static let unk: Int32 = 259
    public static let vocabularySize = 260
    /// The text encoder's `max_position_embeddings` in every shipped config.
    public static let defaultLength = 80

    public let length: Int

    public init() { length = ByteTokenizer.defaultLength }

    /// `length` counts BOS and EOS, so it must be at least 2.
    public init(length: Int) throws {
        guard length >= 2 else { throw TokenizerError.lengthTooShort(length) }
        self.length = length
    }

    /// Bytes of a prompt that fit between BOS and EOS.
    public var maxPromptBytes: Int { length - 2 }

    public func encode(_ prompt: String) -> [Int32] {
        var ids = [Int32](repeating: ByteTokenizer.pad, count: length)
        ids[0] = ByteTokenizer.bos
        var n = 1
        for byte in prompt.utf8.prefix(maxPromptBytes) {
            ids[n] = Int32(byte)
            n += 1
        }
        ids[n] = ByteTokenizer.eos
        return ids
    }

    public func encode(_ prompts: [String]) -> TokenBatch {
        TokenBatch(validIDs: prompts.flatMap(encode), count: prompts.count, length: length)
    }

    /// The prompt bytes of one row (between BOS and the first EOS/PAD) as text; a byte sequence cut
    /// inside a character decodes with U+FFFD in its place.
    public func decode<S: Sequence>(_ ids: S) -> String where S.Element == Int32 {
        var bytes: [UInt8] = []
        for id in ids {
            if id == ByteTokenizer.bos { continue }
            if id == ByteTokenizer.eos || id == ByteTokenizer.pad { break }
            bytes.append(id >= 0 && id < 256 ? UInt8(id) : 0x3F)  // "?" for UNK and foreign ids
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    case lengthTooShort(Int)
    case shapeMismatch(idCount: Int, count: Int, length: Int)
    case idOutOfRange(row: Int, position: Int, id: Int32, vocabularySize: Int)

    public var description: String {
        switch self {
        case .lengthTooShort(let n):
            return "tokenizer length \(n) is too short: it must hold BOS and EOS, so use at least 2 (the models use 80)"
        case .shapeMismatch(let n, let c, let l):
            return "token batch of \(c) rows × \(l) tokens needs \(c * l) ids, got \(n); pass ids row-major"
        case .idOutOfRange(let r, let p, let id, let v):
            return "token id \(id) at row \(r), position \(p) is outside the vocabulary 0..<\(v); tokenize with ByteTokenizer"
        }
    }
}
