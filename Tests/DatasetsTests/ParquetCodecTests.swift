import Datasets
import XCTest

/// The Parquet building blocks against reference encoders (pyarrow's Snappy, Python's zlib/gzip) and
/// the examples of the Parquet spec.
final class ParquetCodecTests: XCTestCase {
    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex {
            let j = s.index(i, offsetBy: 2)
            out.append(UInt8(s[i..<j], radix: 16) ?? 0)
            i = j
        }
        return out
    }

    /// 70 distinct bytes (a literal longer than 60: the long-literal tag) then repetitive text (copies).
    /// Python: text = bytes(range(32,102)) + ''.join(f'{i*i%97},' for i in range(200)).encode()
    static let text: [UInt8] = Array(32..<102) + Array((0..<200).map { "\($0 * $0 % 97)," }.joined().utf8)

    func testSnappyMatchesPyarrow() throws {
        // pa.compress(text, codec='snappy', asbytes=True).hex()
        let compressed = Self.hex(
            "fc04f46901202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f50515253"
            + "5455565758595a5b5c5d5e5f606162636465302c312c342c392c31362c32352c33362c34392c36342c38312c332c32342c34372c37322c32"
            + "2c33312c36322c39352c33332c37302c31322c35332c39362c34342c39312c34332c39342c35302c382c36352c32372c38382c35342c3232"
            + "2c38392c36312c33352c31312c38362c36362c34382c33322c31382c362c39332c38352c37392c37352c37332c37332c37352c37392c3835"
            + "2c39332c362c31382c33322c34382c36362c38362c31312c33352c36312c38392c32322c35342c38382c32372c36352c382c35302c39342c"
            + "34332c39312c34342c39362c35332c31322c37302c33332c39352c36322c33312c322c37322c34372c32342c332c38312c36342c34392c33"
            + "362c32352c31362c392c342c312c302c312c342c392c31362c32352c3336fe1401fe1401fe1401fe1401461401")
        XCTAssertEqual(Self.text.count, 636)
        XCTAssertEqual(try Snappy.decompress(compressed), Self.text)
        // pa.compress(b'abcabcabcabcabcabcXYZ hello hello hello hello!', codec='snappy', asbytes=True).hex()
        let small = Self.hex("2e086162633a03002058595a2068656c6c6f4606000021")
        XCTAssertEqual(try Snappy.decompress(small), Array("abcabcabcabcabcabcXYZ hello hello hello hello!".utf8))
    }

    func testSnappyRejectsMalformedInput() {
        // Truncated literal, copy before the start, and output longer than declared.
        for bad in ["0a2461626364", "0a0105", "02086162636465"] {
            XCTAssertThrowsError(try Snappy.decompress(Self.hex(bad)), bad)
        }
    }

    func testInflateGzipZlibAndStored() throws {
        // gzip.compress(b'hello hello hello hello', mtime=0).hex()  (fixed-Huffman block, CRC and size checked)
        let gz = Self.hex("1f8b0800000000000203cb48cdc9c957c8402701e3513d8d17000000")
        XCTAssertEqual(try Inflate.decompress(gz), Array("hello hello hello hello".utf8))
        // zlib.compress(b'stored!', 0).hex()  (a stored block)
        XCTAssertEqual(try Inflate.decompress(Self.hex("7801010700f8ff73746f726564210bef02b3")), Array("stored!".utf8))
        // zlib.compress(text, 9).hex()  (a dynamic-Huffman block, BTYPE 2)
        let z = Self.hex(
            "78daed50857105200c5da5aeafed4f0221d4ddddddbbff0a7db04017e81dc7214f33343c323a363e3139353d338bb9f98581a8a5ec25ea"
            + "e2d2f2caeadafac6e6d6f6ceeedefec1e1d1f1c9e9d9f9c5e5d5f5cdedddfdc3e3d3f3cbebdbfbc7e7d7f7cf0082840a7168863952852784"
            + "c0a009a9a0281426704525c250c8516443259a5c0af09c900708788616442027a822a846a90c1184c3c90898428844354446a928dcadaf7e"
            + "e523bfbc810825813492a50b518ea294a6016d6846cb68e68cd082480fe52d2063322c2333b8f712daeab014ab592bc9aa2c6cbd3c475039"
            + "0bc1ff4cfe9ac92fdc9c7fdc")
        XCTAssertEqual(try Inflate.decompress(z, expectedSize: 636), Self.text)
        // zlib.crc32(text) == 1744317547
        XCTAssertEqual(CRC32.checksum(Self.text), 1_744_317_547)
    }

    func testInflateRejectsCorruptData() {
        var gz = Self.hex("1f8b0800000000000203cb48cdc9c957c8402701e3513d8d17000000")
        gz[gz.count - 6] ^= 0xFF  // CRC byte
        XCTAssertThrowsError(try Inflate.decompress(gz))
        XCTAssertThrowsError(try Inflate.decompress(Array(gz.prefix(12))))
        XCTAssertThrowsError(try Inflate.decompress([0x07, 0x00]))  // block type 3
    }

    func testRLEHybridSpecExamples() throws {
        // Parquet Encodings.md: bit-packed values 0..7 with bit width 3 are the bytes 10001000 11000110 11111010,
        // introduced by the header (1 group << 1) | 1 = 3.
        XCTAssertEqual(try RLEHybrid.decode([0x03, 0b1000_1000, 0b1100_0110, 0b1111_1010], bitWidth: 3, count: 8),
                       [0, 1, 2, 3, 4, 5, 6, 7])
        // An RLE run: header 5 << 1 = 10, value 2 in one byte; then one bit-packed group of 8 two-bit values
        // in 2 bytes, of which only the first is wanted (padding is dropped).
        XCTAssertEqual(try RLEHybrid.decode([10, 2, 0x03, 0b0000_0001, 0x00], bitWidth: 2, count: 6),
                       [2, 2, 2, 2, 2, 1])
        XCTAssertEqual(try RLEHybrid.decode([6, 1, 0x03, 0b0000_0101], bitWidth: 1, count: 6), [1, 1, 1, 1, 0, 1])
        XCTAssertEqual(RLEHybrid.bitWidth(forMax: 1), 1)
        XCTAssertEqual(RLEHybrid.bitWidth(forMax: 2), 2)
        XCTAssertEqual(RLEHybrid.bitWidth(forMax: 0), 0)
        XCTAssertThrowsError(try RLEHybrid.decode([0x03, 0xFF], bitWidth: 3, count: 8))  // group cut short
    }

    func testTimestampsAsNumpyPrintsThem() {
        // str(np.datetime64(v, unit)) for each: 2023-04-26T13:45:12.123456, 1969-12-31T23:59:59.999,
        // 1970-01-01T00:00:00.000000000 (fraction omitted when zero here), 1969-12-30T23:59:59.999999
        XCTAssertEqual(ParquetTimestamp.iso8601(1_682_516_712_123_456, unit: .micros, utc: true), "2023-04-26T13:45:12.123456Z")
        XCTAssertEqual(ParquetTimestamp.iso8601(-1, unit: .millis, utc: false), "1969-12-31T23:59:59.999")
        XCTAssertEqual(ParquetTimestamp.iso8601(0, unit: .nanos, utc: false), "1970-01-01T00:00:00")
        XCTAssertEqual(ParquetTimestamp.iso8601(-86_400_000_001, unit: .micros, utc: false), "1969-12-30T23:59:59.999999")
        // INT96: Julian day 2460061 = 2023-04-26; 49512123456789 ns = 13:45:12.123456789.
        XCTAssertEqual(ParquetTimestamp.iso8601(nanosOfDay: 49_512_123_456_789, julianDay: 2_460_061),
                       "2023-04-26T13:45:12.123456789Z")
    }
}
