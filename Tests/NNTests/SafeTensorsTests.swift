import Autograd
import Foundation
import Kernels
import NN
import XCTest

final class SafeTensorsTests: XCTestCase {
    // MARK: Interoperability with Python's safetensors

    private struct Expected: Decodable {
        struct Entry: Decodable {
            let dtype: String
            let shape: [Int]
            let float32_bits: [UInt32]
        }
        let metadata: [String: String]
        let tensors: [String: Entry]
    }

    /// Fixture from Scripts/make_safetensors_fixture.py (Python's `safetensors.torch.save_file`), with the
    /// expected float32 bit patterns `t.float().view(torch.int32)` of every value (F32, F16, BF16; a scalar,
    /// an empty tensor, subnormal halves, ±0, ±inf, NaN).
    func testReadsEveryValueOfPythonWrittenFile() throws {
        let (tensors, metadata) = try SafeTensors.read(try fixturePath("python_written.safetensors"))
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: try fixturePath("python_written_expected.json"))))
        XCTAssertEqual(metadata, expected.metadata)
        XCTAssertEqual(Set(tensors.keys), Set(expected.tensors.keys))
        XCTAssertEqual(Set(expected.tensors.values.map(\.dtype)), ["float32", "float16", "bfloat16"])
        for (name, e) in expected.tensors {
            let t = try XCTUnwrap(tensors[name], name)
            XCTAssertEqual(t.shape, e.shape, name)
            // NaN payloads differ between converters (torch gives 0x7fffffff for the F16 NaN, the IEEE
            // conversion 0x7fc00000): any NaN matches a NaN; every other value must match bit for bit.
            for (got, want) in zip(t.toArray(), e.float32_bits.map(Float.init(bitPattern:))) {
                XCTAssertTrue(want.isNaN ? got.isNaN : got.bitPattern == want.bitPattern, "\(name): \(got) vs \(want)")
            }
            XCTAssertEqual(t.count, e.float32_bits.count, name)
        }
        XCTAssertEqual(tensors["f32_scalar"]?.shape, [])
        XCTAssertEqual(tensors["f32_scalar"]?.item(), 3.25)
        XCTAssertEqual(tensors["f32_empty"]?.shape, [0, 3])

        let header = try SafeTensors.readHeader(try fixturePath("python_written.safetensors"))
        XCTAssertEqual(header.entries.map(\.name), tensors.keys.sorted())
        XCTAssertEqual(header.entries.first { $0.name == "f16_special" }?.dtype, .f16)
        XCTAssertEqual(header.entries.first { $0.name == "bf16_vec" }?.dtype, .bf16)
    }

    /// The Swift writer reproduces Python's bytes: same tensor order (by name, bytewise), compact JSON,
    /// `__metadata__` first, space padding to a multiple of 8, little-endian data.
    func testEncodingIsByteIdenticalToPython() throws {
        let path = try fixturePath("python_written_f32.safetensors")
        let pythonBytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let (tensors, metadata) = try SafeTensors.read(path)
        XCTAssertEqual(tensors.count, 5)
        XCTAssertEqual(try SafeTensors.encode(tensors, metadata: metadata), pythonBytes)
    }

    /// Keep in sync with `swift_expected()` in Scripts/make_safetensors_fixture.py.
    static func swiftWrittenTensors() -> [String: Tensor] {
        [
            "ramp": Tensor(shape: [2, 3, 4], data: (0..<24).map { (Float($0) - 7) * 0.375 }),
            "scalar": Tensor(scalar: -2.5),
            "empty": Tensor(zeros: [0, 4]),
            "conv.weight": Tensor(shape: [3, 1, 2, 2], data: (1...12).map { 1 / Float($0) }),
        ]
    }
    static let swiftWrittenMetadata = ["written_by": "t2ialign", "note": "ünïcode \"quoted\" /slash\n"]

    /// Writes the file `Scripts/make_safetensors_fixture.py --check FILE` verifies with Python's library
    /// (set T2I_SWIFT_SAFETENSORS_OUT=FILE). Without Python, checks the re-read values and the layout.
    func testWriteSwiftFileForPythonCheck() throws {
        let dir = try makeTemporaryDirectory(self)
        let path = ProcessInfo.processInfo.environment["T2I_SWIFT_SAFETENSORS_OUT"] ?? dir + "/nested/swift_written.safetensors"
        let tensors = Self.swiftWrittenTensors()
        try SafeTensors.write(tensors, metadata: Self.swiftWrittenMetadata, to: path)

        let (back, metadata) = try SafeTensors.read(path)
        XCTAssertEqual(metadata, Self.swiftWrittenMetadata)
        XCTAssertEqual(Set(back.keys), Set(tensors.keys))
        for (name, t) in tensors {
            XCTAssertEqual(back[name]?.shape, t.shape, name)
            XCTAssertEqual(back[name].map(bits), bits(t), name)
        }

        // Layout: u64 LE header length (multiple of 8), JSON object padded with spaces, data tiled in name order.
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let n = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual(n % 8, 0)
        let headerBytes = Array(bytes[8..<(8 + n)])
        let jsonEnd = try XCTUnwrap(headerBytes.lastIndex(of: UInt8(ascii: "}")))
        XCTAssertTrue(headerBytes[(jsonEnd + 1)...].allSatisfy { $0 == 0x20 })
        XCTAssertLessThan(headerBytes.count - jsonEnd - 1, 8)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(headerBytes)) as? [String: Any])
        XCTAssertEqual(json["__metadata__"] as? [String: String], Self.swiftWrittenMetadata)
        var offset = 0
        for name in tensors.keys.sorted() {
            let info = try XCTUnwrap(json[name] as? [String: Any], name)
            XCTAssertEqual(info["dtype"] as? String, "F32")
            XCTAssertEqual(info["shape"] as? [Int], tensors[name]?.shape)
            let count = tensors[name]?.count ?? 0
            XCTAssertEqual(info["data_offsets"] as? [Int], [offset, offset + 4 * count], name)
            offset += 4 * count
        }
        XCTAssertEqual(bytes.count, 8 + n + offset)
        // The first data bytes are "conv.weight"[0] = 1.0f little-endian.
        XCTAssertEqual(Array(bytes[(8 + n)..<(8 + n + 4)]), [0x00, 0x00, 0x80, 0x3F])
    }

    func testRoundTripOfEdgeCaseNamesAndValues() throws {
        let tensors: [String: Tensor] = [
            "tab\tand\u{01}control": Tensor(shape: [1], data: [.infinity]),
            "ünïcode/slash\"quote\\": Tensor(shape: [2], data: [-0.0, .greatestFiniteMagnitude]),
            "": Tensor(shape: [1, 1, 1], data: [.leastNonzeroMagnitude]),
        ]
        let data = try SafeTensors.encode(tensors, metadata: ["k\n": "v\u{7f}"])
        let (back, metadata) = try SafeTensors.decode(data)
        XCTAssertEqual(metadata, ["k\n": "v\u{7f}"])
        for (name, t) in tensors {
            XCTAssertEqual(back[name].map(bits), bits(t), name)
            XCTAssertEqual(back[name]?.shape, t.shape, name)
        }
        XCTAssertTrue(String(decoding: data, as: UTF8.self).contains(#""tab\tand\u0001control""#))
        XCTAssertEqual(try SafeTensors.decode(try SafeTensors.encode([:])).tensors.count, 0)
    }

    // MARK: Conversions

    /// Every binary16 bit pattern, read from an F16 tensor, against Swift's own `Float16` → `Float`
    /// conversion (an independent reference); BF16 is the upper half of the float32 pattern.
    func testHalfAndBFloatConversionIsExactForAllPatterns() throws {
        #if !(os(macOS) && arch(x86_64))
        var data = [UInt8]()
        for h in 0...UInt16.max { data += [UInt8(h & 0xFF), UInt8(h >> 8)] }
        let header = #"{"h":{"dtype":"F16","shape":[65536],"data_offsets":[0,131072]},"b":{"dtype":"BF16","shape":[65536],"data_offsets":[131072,262144]}}"#
        let tensors = try SafeTensors.decode(file(header: header, data: data + data)).tensors
        let half = try XCTUnwrap(tensors["h"]).toArray(), bf = try XCTUnwrap(tensors["b"]).toArray()
        for h in 0...UInt16.max {
            let expected = Float(Float16(bitPattern: h))
            let got = half[Int(h)]
            if expected.isNaN {
                XCTAssertTrue(got.isNaN, "pattern \(h)")
            } else if got.bitPattern != expected.bitPattern {
                return XCTFail("F16 pattern \(h): \(got) vs \(expected)")
            }
            XCTAssertEqual(bf[Int(h)].bitPattern, UInt32(h) << 16)
        }
        #else
        throw XCTSkip("Float16 is unavailable on Intel macOS")
        #endif
    }

    // MARK: Malformed input

    /// A file with a hand-written header (padded like Python's) and raw data bytes.
    private func file(header: String, data: [UInt8] = []) -> Data {
        var h = Array(header.utf8)
        h += [UInt8](repeating: 0x20, count: (8 - h.count % 8) % 8)
        var out = Data()
        withUnsafeBytes(of: UInt64(h.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: h)
        out.append(contentsOf: data)
        return out
    }

    private func problem(_ data: Data, file: StaticString = #filePath, line: UInt = #line) -> SafeTensorsError.Problem? {
        do {
            _ = try SafeTensors.decode(data, source: "test.safetensors")
            XCTFail("malformed input was accepted", file: file, line: line)
        } catch let e as SafeTensorsError {
            XCTAssertEqual(e.file, "test.safetensors", file: file, line: line)
            XCTAssertTrue(e.description.contains("test.safetensors"), file: file, line: line)
            return e.problem
        } catch {
            XCTFail("untyped error \(error)", file: file, line: line)
        }
        return nil
    }

    private let eightBytes = [UInt8](repeating: 0, count: 8)

    func testValidHandWrittenFileDecodes() throws {
        // Control for the malformed cases below: the same construction with a correct header works.
        let data = file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: eightBytes)
        XCTAssertEqual(try SafeTensors.decode(data).tensors["a"]?.toArray(), [0, 0])
    }

    func testTruncatedAndOversizedHeaderLength() {
        guard case .truncated = problem(Data([1, 2, 3])) else { return XCTFail("short file") }
        var hugeLength = Data()
        withUnsafeBytes(of: UInt64.max.littleEndian) { hugeLength.append(contentsOf: $0) }
        hugeLength.append(contentsOf: Array("{}".utf8))
        XCTAssertEqual(problem(hugeLength), .headerSizeOutOfRange(declared: .max, available: 2))
        var pastEnd = file(header: "{}")
        pastEnd.replaceSubrange(0..<8, with: [100, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(problem(pastEnd), .headerSizeOutOfRange(declared: 100, available: 8))
    }

    func testTruncatedDataSectionIsReported() {
        let data = file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0])
        guard case .truncated(let detail) = problem(data) else { return XCTFail("expected truncated") }
        XCTAssertTrue(detail.contains("tensor a"))
    }

    func testEveryPrefixOfAValidFileIsRejectedWithoutCrashing() throws {
        let valid = try SafeTensors.encode(Self.swiftWrittenTensors(), metadata: ["a": "b"])
        for length in 0..<valid.count {
            XCTAssertThrowsError(try SafeTensors.decode(valid.prefix(length)), "prefix \(length)")
        }
    }

    func testRandomByteCorruptionNeverCrashes() throws {
        let valid = try SafeTensors.encode(Self.swiftWrittenTensors(), metadata: ["a": "b"])
        var rng = RNG(seed: 11)
        var rejected = 0
        for _ in 0..<300 {
            var bytes = [UInt8](valid)
            for _ in 0..<(1 + rng.nextInt(below: 3)) {
                // Mostly the header (where corruption matters), sometimes the length field.
                let i = rng.nextInt(below: min(bytes.count, 200))
                bytes[i] = UInt8(rng.nextInt(below: 256))
            }
            do { _ = try SafeTensors.decode(Data(bytes)) } catch is SafeTensorsError { rejected += 1 }
        }
        XCTAssertGreaterThan(rejected, 100)
    }

    func testInvalidJSONHeaders() {
        for header in ["{not json", "[1, 2]", #"{"a": 5}"#, #"{"a":{"shape":[1],"data_offsets":[0,4]}}"#,
                       #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0.5,4]}}"#,
                       #"{"__metadata__":{"k":1}}"#, ""] {
            guard case .invalidHeader(let detail) = problem(file(header: header, data: [0, 0, 0, 0])) else {
                XCTFail("header \(header) should be invalid"); continue
            }
            XCTAssertFalse(detail.isEmpty)
        }
    }

    func testDTypeErrors() {
        let unknown = file(header: #"{"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])
        XCTAssertEqual(problem(unknown), .unknownDType(tensor: "a", dtype: "F33"))
        let int64 = file(header: #"{"ids":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, data: eightBytes)
        XCTAssertEqual(problem(int64), .unsupportedDType(tensor: "ids", dtype: "I64"))
    }

    func testShapeAndOffsetErrors() {
        XCTAssertEqual(problem(file(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: eightBytes)),
                       .sizeMismatch(tensor: "a", dtype: "F32", shape: [3], byteRange: 8))
        XCTAssertEqual(problem(file(header: #"{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,8]}}"#, data: eightBytes)),
                       .sizeMismatch(tensor: "a", dtype: "F16", shape: [2], byteRange: 8))
        XCTAssertEqual(problem(file(header: #"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: eightBytes)),
                       .invalidShape(tensor: "a", shape: [-2]))
        XCTAssertEqual(problem(file(header: #"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#, data: eightBytes)),
                       .invalidShape(tensor: "a", shape: [4_611_686_018_427_387_904, 4]))
        guard case .invalidOffsets(tensor: "a", _) = problem(file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, data: eightBytes)) else {
            return XCTFail("reversed offsets")
        }
        guard case .invalidOffsets(tensor: "a", _) = problem(file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#, data: [0, 0, 0, 0])) else {
            return XCTFail("three offsets")
        }
        guard case .invalidOffsets(tensor: "a", _) = problem(file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eightBytes)) else {
            return XCTFail("gap before a tensor")
        }
        let overlap = file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eightBytes)
        XCTAssertEqual(problem(overlap), .overlappingTensors("a", "b"))
        XCTAssertEqual(problem(file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: eightBytes)), .trailingBytes(4))
        guard case .truncated = problem(file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[1000,1004]}}"#, data: eightBytes)) else {
            return XCTFail("offsets past the end")
        }
    }

    func testFileSystemErrors() throws {
        let dir = try makeTemporaryDirectory(self)
        XCTAssertThrowsError(try SafeTensors.read(dir + "/missing.safetensors")) { error in
            let e = error as? SafeTensorsError
            XCTAssertEqual(e?.problem, .fileNotFound)
            XCTAssertTrue(e?.description.contains(dir + "/missing.safetensors") ?? false)
        }
        XCTAssertThrowsError(try SafeTensors.read(dir)) { error in
            guard case .unreadable = (error as? SafeTensorsError)?.problem else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try SafeTensors.write(["__metadata__": Tensor(scalar: 1)], to: dir + "/x.safetensors")) { error in
            XCTAssertEqual((error as? SafeTensorsError)?.problem, .invalidName("__metadata__"))
        }
        try Data([1]).write(to: URL(fileURLWithPath: dir + "/plainfile"))
        XCTAssertThrowsError(try SafeTensors.write(["a": Tensor(scalar: 1)], to: dir + "/plainfile/x.safetensors")) { error in
            guard case .writeFailed = (error as? SafeTensorsError)?.problem else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains(dir + "/plainfile"))
        }
    }
}
