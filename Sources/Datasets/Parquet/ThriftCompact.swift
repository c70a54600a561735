/// A reader of Apache Thrift's compact protocol, the encoding of Parquet's footer and page headers.
///
/// Only reading is needed. Structs are read with `readStruct`, whose handler consumes the fields it
/// knows and returns false for the others, which are skipped by type (so newer writers' extra fields
/// are harmless). Spec: thrift/doc/specs/thrift-compact-protocol.md.
struct ThriftCompactReader {
    enum FieldType: UInt8 {
        case stop = 0, boolTrue = 1, boolFalse = 2, byte = 3, i16 = 4, i32 = 5, i64 = 6, double = 7
        case binary = 8, list = 9, set = 10, map = 11, structure = 12
    }

    var cursor: ByteCursor
    /// Nesting guard against malicious or corrupt input.
    private var depth = 0

    init(_ cursor: ByteCursor) { self.cursor = cursor }

    var position: Int { cursor.position }

    /// Reads a struct; `field(id, type, &reader)` returns true when it consumed the value.
    mutating func readStruct(_ field: (Int16, FieldType, inout ThriftCompactReader) throws -> Bool) throws {
        depth += 1
        defer { depth -= 1 }
        guard depth < 64 else { throw cursor.corrupt("Thrift structures nested more than 64 deep") }
        var lastID: Int16 = 0
        while true {
            let header = try cursor.byte()
            guard let type = FieldType(rawValue: header & 0x0F) else {
                throw cursor.corrupt("unknown Thrift field type \(header & 0x0F)")
            }
            if type == .stop { return }
            let delta = Int16(header >> 4)
            let id: Int16
            if delta != 0 {
                id = lastID &+ delta
            } else {
                let v = try cursor.zigzagVarint()
                guard let v16 = Int16(exactly: v) else { throw cursor.corrupt("Thrift field id \(v) out of range") }
                id = v16
            }
            lastID = id
            if try !field(id, type, &self) { try skip(type) }
        }
    }

    /// Boolean struct fields carry their value in the type nibble.
    func bool(_ type: FieldType) throws -> Bool {
        switch type {
        case .boolTrue: return true
        case .boolFalse: return false
        default: throw cursor.corrupt("expected a Thrift boolean, found type \(type)")
        }
    }

    mutating func i32() throws -> Int32 {
        let v = try cursor.zigzagVarint()
        guard let r = Int32(exactly: v) else { throw cursor.corrupt("Thrift i32 value \(v) out of range") }
        return r
    }

    mutating func i64() throws -> Int64 { try cursor.zigzagVarint() }

    mutating func binary() throws -> [UInt8] {
        let n = try cursor.unsignedVarint()
        guard n <= UInt64(cursor.remaining) else { throw cursor.corrupt("a Thrift string of \(n) bytes runs past the end") }
        return Array(try cursor.bytes(Int(n), "a Thrift string"))
    }

    mutating func string() throws -> String { String(decoding: try binary(), as: UTF8.self) }

    /// A list header: element type and count.
    mutating func listHeader() throws -> (FieldType, Int) {
        let header = try cursor.byte()
        guard let type = FieldType(rawValue: header & 0x0F) else {
            throw cursor.corrupt("unknown Thrift list element type \(header & 0x0F)")
        }
        var count = Int(header >> 4)
        if count == 15 {
            let n = try cursor.unsignedVarint()
            // Every element takes at least one byte (except empty structs, bounded the same way).
            guard n <= UInt64(cursor.remaining) else { throw cursor.corrupt("a Thrift list of \(n) elements runs past the end") }
            count = Int(n)
        }
        return (type, count)
    }

    mutating func list<T>(_ element: (inout ThriftCompactReader) throws -> T) throws -> [T] {
        let (_, count) = try listHeader()
        var out: [T] = []
        out.reserveCapacity(count)
        for _ in 0..<count { out.append(try element(&self)) }
        return out
    }

    /// Skips one value of the given type.
    mutating func skip(_ type: FieldType) throws {
        switch type {
        case .stop: return
        case .boolTrue, .boolFalse: return
        case .byte: try cursor.skip(1, "a Thrift byte")
        case .i16, .i32, .i64: _ = try cursor.unsignedVarint()
        case .double: try cursor.skip(8, "a Thrift double")
        case .binary: _ = try binary()
        case .list, .set:
            let (elementType, count) = try listHeader()
            for _ in 0..<count {
                // Booleans inside containers take one byte each.
                if elementType == .boolTrue || elementType == .boolFalse { try cursor.skip(1, "a Thrift boolean") } else { try skip(elementType) }
            }
        case .map:
            let n = try cursor.unsignedVarint()
            guard n <= UInt64(cursor.remaining) else { throw cursor.corrupt("a Thrift map of \(n) entries runs past the end") }
            if n == 0 { return }
            let types = try cursor.byte()
            guard let k = FieldType(rawValue: types >> 4), let v = FieldType(rawValue: types & 0x0F) else {
                throw cursor.corrupt("unknown Thrift map key/value types")
            }
            for _ in 0..<n {
                if k == .boolTrue || k == .boolFalse { try cursor.skip(1, "a Thrift boolean") } else { try skip(k) }
                if v == .boolTrue || v == .boolFalse { try cursor.skip(1, "a Thrift boolean") } else { try skip(v) }
            }
        case .structure:
            try readStruct { _, _, _ in false }
        }
    }
}
