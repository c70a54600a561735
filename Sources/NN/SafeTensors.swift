import Autograd
import Files
import Foundation

/// The safetensors format (huggingface/safetensors), read and written byte-compatibly with Python's
/// library: an 8-byte little-endian header length N, N bytes of JSON
/// `{"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}, …}` padded with
/// spaces to a multiple of 8, then the raw little-endian tensor bytes (offsets relative to their start).
///
/// Reading accepts F32, F16 and BF16 (converted to Float32) and validates everything a corrupt file can
/// get wrong before touching the data; writing produces F32 with tensors ordered by name, the order
/// Python's library uses, so the same tensors and metadata give the same bytes.
public enum SafeTensors {
    /// Python's library refuses headers above 100 MB; a larger value means a corrupt length field.
    public static let maxHeaderSize = 100_000_000

    // MARK: Reading

    /// Reads every tensor of a `.safetensors` file as Float32.
    public static func read(_ path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        try decode(contents(of: path), source: path)
    }

    /// Reads and validates only the header: names, dtypes, shapes and byte ranges, sorted by name.
    public static func readHeader(_ path: String) throws -> (entries: [Entry], metadata: [String: String]) {
        let data = try contents(of: path)
        return try data.withUnsafeBytes { bytes in
            let header = try parseHeader(bytes, source: path)
            return (header.entries.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }, header.metadata)
        }
    }

    private static func contents(of path: String) throws -> Data {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SafeTensorsError(file: path, problem: .fileNotFound)
        }
        if isDirectory.boolValue {
            throw SafeTensorsError(file: path, problem: .unreadable("it is a directory, not a .safetensors file"))
        }
        do {
            // Mapped: a large checkpoint is converted straight from the page cache without a second copy.
            return try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        } catch {
            throw SafeTensorsError(file: path, problem: .unreadable(error.localizedDescription))
        }
    }

    /// Decodes safetensors bytes; `source` names them in errors (a path, or a description).
    public static func decode(_ data: Data, source: String = "<memory>") throws
        -> (tensors: [String: Tensor], metadata: [String: String]) {
        try data.withUnsafeBytes { try decode(bytes: $0, source: source) }
    }

    /// One tensor's header entry after validation.
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        /// Byte range relative to the start of the data section.
        public let begin: Int
        public let end: Int
    }

    /// The dtypes this reader converts to Float32.
    public enum DType: String, Sendable, CaseIterable {
        case f32 = "F32", f16 = "F16", bf16 = "BF16"

        public var byteSize: Int {
            switch self {
            case .f32: return 4
            case .f16, .bf16: return 2
            }
        }
    }

    /// Valid safetensors dtypes that this float-only reader does not convert (for a precise error).
    static let otherKnownDTypes: Set<String> = [
        "BOOL", "U8", "I8", "I16", "U16", "I32", "U32", "I64", "U64", "F64", "C64",
        "F8_E5M2", "F8_E4M3", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4",
    ]

    static func decode(bytes: UnsafeRawBufferPointer, source: String) throws
        -> (tensors: [String: Tensor], metadata: [String: String]) {
        let (entries, metadata, dataStart) = try parseHeader(bytes, source: source)
        var tensors: [String: Tensor] = [:]
        tensors.reserveCapacity(entries.count)
        for e in entries {
            let t = Tensor.uninitialized(e.shape)
            let src = UnsafeRawBufferPointer(rebasing: bytes[(dataStart + e.begin) ..< (dataStart + e.end)])
            convert(src, dtype: e.dtype, into: t.data, count: t.count)
            tensors[e.name] = t
        }
        return (tensors, metadata)
    }

    /// Parses and validates the header; returns the entries, the metadata and where the data starts.
    static func parseHeader(_ bytes: UnsafeRawBufferPointer, source: String) throws
        -> (entries: [Entry], metadata: [String: String], dataStart: Int) {
        func fail(_ p: SafeTensorsError.Problem) -> SafeTensorsError { SafeTensorsError(file: source, problem: p) }

        guard bytes.count >= 8 else { throw fail(.truncated("the file has \(bytes.count) bytes, fewer than the 8-byte header length")) }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n <= UInt64(maxHeaderSize), Int(n) <= bytes.count - 8 else {
            throw fail(.headerSizeOutOfRange(declared: n, available: bytes.count - 8))
        }
        let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[8 ..< 8 + Int(n)])
        let dataStart = 8 + Int(n)
        let dataLength = bytes.count - dataStart

        let raw: RawHeader
        do {
            raw = try JSONDecoder().decode(RawHeader.self, from: Data(headerBytes))
        } catch let e as DecodingError {
            throw fail(.invalidHeader(describe(e)))
        } catch {
            throw fail(.invalidHeader("\(error)"))
        }

        var entries: [Entry] = []
        entries.reserveCapacity(raw.entries.count)
        for (name, info) in raw.entries {
            guard let dtype = DType(rawValue: info.dtype) else {
                if otherKnownDTypes.contains(info.dtype) {
                    throw fail(.unsupportedDType(tensor: name, dtype: info.dtype))
                }
                throw fail(.unknownDType(tensor: name, dtype: info.dtype))
            }
            guard info.shape.allSatisfy({ $0 >= 0 }) else {
                throw fail(.invalidShape(tensor: name, shape: info.shape))
            }
            guard info.data_offsets.count == 2 else {
                throw fail(.invalidOffsets(tensor: name, "data_offsets must be [begin, end], found \(info.data_offsets)"))
            }
            let begin = info.data_offsets[0], end = info.data_offsets[1]
            guard begin >= 0, begin <= end else {
                throw fail(.invalidOffsets(tensor: name, "data_offsets [\(begin), \(end)] are not an increasing byte range"))
            }
            guard end <= dataLength else {
                throw fail(.truncated("tensor \(name) occupies bytes \(begin)..<\(end) of the data section, which has only \(dataLength) bytes"))
            }
            var elements = 1
            for d in info.shape {
                let (m, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow else { throw fail(.invalidShape(tensor: name, shape: info.shape)) }
                elements = m
            }
            let (expected, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow, expected == end - begin else {
                throw fail(.sizeMismatch(tensor: name, dtype: dtype.rawValue, shape: info.shape, byteRange: end - begin))
            }
            entries.append(Entry(name: name, dtype: dtype, shape: info.shape, begin: begin, end: end))
        }

        // The tensors must tile the data section exactly, as Python's library requires.
        let ordered = entries.sorted { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var position = 0
        var previous: String?
        for e in ordered {
            if e.begin < position, let p = previous {
                throw fail(.overlappingTensors(p, e.name))
            }
            if e.begin > position {
                throw fail(.invalidOffsets(tensor: e.name, "bytes \(position)..<\(e.begin) before it belong to no tensor"))
            }
            position = e.end
            previous = e.name
        }
        if position != dataLength {
            throw fail(.trailingBytes(dataLength - position))
        }
        return (entries, raw.metadata, dataStart)
    }

    /// Little-endian `dtype` values → Float32.
    static func convert(_ src: UnsafeRawBufferPointer, dtype: DType, into out: UnsafeMutablePointer<Float>, count: Int) {
        guard count > 0, let base = src.baseAddress else { return }
        switch dtype {
        case .f32:
            #if _endian(little)
            UnsafeMutableRawPointer(out).copyMemory(from: base, byteCount: count * 4)
            #else
            for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            #endif
        case .f16:
            for i in 0..<count {
                out[i] = halfToFloat(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
        case .bf16:
            // bfloat16 is the top half of a float32.
            for i in 0..<count {
                out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16)
            }
        }
    }

    /// IEEE binary16 → binary32, exact (bit manipulation: `Float16` is not available on every platform).
    @inline(__always)
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign: UInt32 = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1F
        let mantissa = UInt32(h & 0x3FF)
        switch exponent {
        case 0:
            // Zero or subnormal: mantissa · 2⁻²⁴, exactly representable in Float32.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        case 0x1F:
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))  // inf / NaN (payload kept)
        default:
            return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
        }
    }

    // MARK: Writing

    /// Writes `tensors` as F32 (atomically: temp file + fsync + rename).
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to path: String) throws {
        let data = try encode(tensors, metadata: metadata, destination: path)
        do {
            try AtomicFile.write(data, to: path)
        } catch let e as AtomicFileError {
            throw SafeTensorsError(file: path, problem: .writeFailed(e.description))
        }
    }

    /// The bytes of a safetensors file holding `tensors` as F32.
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:]) throws -> Data {
        try encode(tensors, metadata: metadata, destination: "<memory>")
    }

    static func encode(_ tensors: [String: Tensor], metadata: [String: String], destination: String) throws -> Data {
        if tensors["__metadata__"] != nil {
            throw SafeTensorsError(file: destination, problem: .invalidName("__metadata__"))
        }
        // Python's library orders by dtype, then name (bytewise); all ours are F32.
        let names = tensors.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var json = "{"
        var first = true
        if !metadata.isEmpty {
            json += "\"__metadata__\":{"
            json += metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                .map { jsonString($0) + ":" + jsonString(metadata[$0] ?? "") }
                .joined(separator: ",")
            json += "}"
            first = false
        }
        var offset = 0
        for name in names {
            guard let t = tensors[name] else { continue }
            let bytes = t.count * 4
            if !first { json += "," }
            first = false
            json += jsonString(name) + ":{\"dtype\":\"F32\",\"shape\":["
                + t.shape.map(String.init).joined(separator: ",")
                + "],\"data_offsets\":[\(offset),\(offset + bytes)]}"
            offset += bytes
        }
        json += "}"
        var header = Array(json.utf8)
        header += [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8)

        var data = Data(count: 8 + header.count + offset)
        data.withUnsafeMutableBytes { (buffer: UnsafeMutableRawBufferPointer) in
            guard let base = buffer.baseAddress else { return }
            var n = UInt64(header.count).littleEndian
            withUnsafeBytes(of: &n) { base.copyMemory(from: $0.baseAddress!, byteCount: 8) }
            header.withUnsafeBytes { base.advanced(by: 8).copyMemory(from: $0.baseAddress!, byteCount: header.count) }
            var position = 8 + header.count
            for name in names {
                guard let t = tensors[name] else { continue }
                #if _endian(little)
                base.advanced(by: position).copyMemory(from: t.data, byteCount: t.count * 4)
                #else
                for i in 0..<t.count {
                    base.storeBytes(of: t.data[i].bitPattern.littleEndian, toByteOffset: position + 4 * i, as: UInt32.self)
                }
                #endif
                position += t.count * 4
            }
        }
        return data
    }

    /// A JSON string literal escaped as serde_json (Python's library) does: quote, backslash and
    /// control characters only; non-ASCII and `/` stay as they are.
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    // MARK: Header JSON

    private struct DynamicKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    private struct RawInfo: Decodable {
        let dtype: String
        let shape: [Int]
        let data_offsets: [Int]
    }

    private struct RawHeader: Decodable {
        var entries: [(String, RawInfo)] = []
        var metadata: [String: String] = [:]

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: DynamicKey.self)
            for key in c.allKeys {
                if key.stringValue == "__metadata__" {
                    metadata = try c.decode([String: String].self, forKey: key)
                } else {
                    entries.append((key.stringValue, try c.decode(RawInfo.self, forKey: key)))
                }
            }
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [CodingKey]) -> String {
            keys.isEmpty ? "the header" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .typeMismatch(let type, let ctx):
            return "\(path(ctx.codingPath)): expected \(type) (\(ctx.debugDescription))"
        case .valueNotFound(let type, let ctx):
            return "\(path(ctx.codingPath)): missing \(type) value"
        case .keyNotFound(let key, let ctx):
            return "\(path(ctx.codingPath + [key])): missing field \"\(key.stringValue)\""
        case .dataCorrupted(let ctx):
            return "not valid JSON at \(path(ctx.codingPath)) (\(ctx.underlyingError.map { "\($0)" } ?? ctx.debugDescription))"
        @unknown default:
            return "\(error)"
        }
    }
}

/// A malformed or unreadable safetensors file: which file, and what is wrong with it.
public struct SafeTensorsError: Error, CustomStringConvertible, LocalizedError {
    public enum Problem: Equatable, Sendable {
        case fileNotFound
        case unreadable(String)
        case truncated(String)
        case headerSizeOutOfRange(declared: UInt64, available: Int)
        case invalidHeader(String)
        case unknownDType(tensor: String, dtype: String)
        case unsupportedDType(tensor: String, dtype: String)
        case invalidShape(tensor: String, shape: [Int])
        case sizeMismatch(tensor: String, dtype: String, shape: [Int], byteRange: Int)
        case invalidOffsets(tensor: String, String)
        case overlappingTensors(String, String)
        case trailingBytes(Int)
        case invalidName(String)
        case writeFailed(String)
    }

    public let file: String
    public let problem: Problem

    public init(file: String, problem: Problem) {
        self.file = file
        self.problem = problem
    }

    public var description: String {
        let what: String
        switch problem {
        case .fileNotFound:
            what = "no such file; check the path"
        case .unreadable(let reason):
            what = "cannot read it: \(reason)"
        case .truncated(let detail):
            what = "the file is truncated (\(detail)); it was probably cut short while being copied or written — re-create or re-download it"
        case .headerSizeOutOfRange(let declared, let available):
            what = "the header length field says \(declared) bytes but \(available) bytes follow it (limit \(SafeTensors.maxHeaderSize)); this is not a safetensors file or it is truncated"
        case .invalidHeader(let detail):
            what = "the JSON header is invalid: \(detail)"
        case .unknownDType(let tensor, let dtype):
            what = "tensor \(tensor) has unknown dtype \"\(dtype)\"; valid safetensors dtypes include F32, F16, BF16"
        case .unsupportedDType(let tensor, let dtype):
            what = "tensor \(tensor) has dtype \(dtype), which is not read (only F32, F16, BF16); convert it to float32 before saving (e.g. `t.float()` in PyTorch)"
        case .invalidShape(let tensor, let shape):
            what = "tensor \(tensor) has invalid shape \(shape)"
        case .sizeMismatch(let tensor, let dtype, let shape, let byteRange):
            what = "tensor \(tensor) is \(dtype) of shape \(shape) but its data_offsets span \(byteRange) bytes; the header is inconsistent"
        case .invalidOffsets(let tensor, let detail):
            what = "tensor \(tensor): \(detail)"
        case .overlappingTensors(let a, let b):
            what = "the data of tensors \(a) and \(b) overlap; the header is corrupt"
        case .trailingBytes(let n):
            what = "\(n) bytes after the last tensor belong to no tensor; the header is inconsistent with the data"
        case .invalidName(let name):
            what = "\"\(name)\" cannot be a tensor name (it is reserved by the format); rename the tensor"
        case .writeFailed(let reason):
            what = "cannot write it: \(reason)"
        }
        return "safetensors file \(file): \(what)"
    }

    public var errorDescription: String? { description }
}
