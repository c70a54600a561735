import Foundation
import XCTest
import Diffusion

/// The byte tokenizer against ../shared/bench/models.py `tokenize` (fixture written by
/// Scripts/make_parity_fixtures.py: multi-byte UTF-8, empty, exactly 78 bytes, truncation, a cut character).
final class TokenizerTests: XCTestCase {
    private struct Cases: Decodable {
        let seq_len: Int
        let bos: Int32
        let eos: Int32
        let pad: Int32
        let prompts: [String]
        let ids: [[Int32]]
    }

    private func cases() throws -> Cases {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "parity_tokenizer", withExtension: "json",
                                                  subdirectory: "Fixtures"), "parity_tokenizer.json missing")
        return try JSONDecoder().decode(Cases.self, from: Data(contentsOf: url))
    }

    func testMatchesPythonTokenize() throws {
        let c = try cases()
        XCTAssertEqual(c.seq_len, ByteTokenizer.defaultLength)
        XCTAssertEqual([c.bos, c.eos, c.pad], [ByteTokenizer.bos, ByteTokenizer.eos, ByteTokenizer.pad])
        let tok = ByteTokenizer()
        XCTAssertGreaterThan(c.prompts.count, 5)
        for (prompt, expected) in zip(c.prompts, c.ids) {
            XCTAssertEqual(tok.encode(prompt), expected, "prompt \"\(prompt)\"")
        }
        let batch = tok.encode(c.prompts)
        XCTAssertEqual(batch.shape, [c.prompts.count, c.seq_len])
        XCTAssertEqual(batch.ids, c.ids.flatMap { $0 })
        XCTAssertEqual(Array(batch.row(2)), c.ids[2])
    }

    func testDecodeRoundTripsAndShowsCutCharacters() {
        let tok = ByteTokenizer()
        XCTAssertEqual(tok.decode(tok.encode("a blue square ✓")), "a blue square ✓")
        XCTAssertEqual(tok.decode(tok.encode("")), "")
        // 1 + 2·40 bytes cut to 78: the last "é" loses its second byte and decodes as U+FFFD.
        let cut = tok.decode(tok.encode("a" + String(repeating: "é", count: 40)))
        XCTAssertEqual(cut, "a" + String(repeating: "é", count: 38) + "\u{FFFD}")
    }

    func testShortLengthKeepsBosAndEos() throws {
        let tok = try ByteTokenizer(length: 4)
        XCTAssertEqual(tok.encode("hello"), [256, 104, 101, 257])
        XCTAssertEqual(try ByteTokenizer(length: 2).encode("x"), [256, 257])
        XCTAssertThrowsError(try ByteTokenizer(length: 1)) { error in
            XCTAssertEqual(error as? TokenizerError, .lengthTooShort(1))
            XCTAssertTrue("\(error)".contains("at least 2"))
        }
    }

    func testTokenBatchRejectsBadIDs() {
        XCTAssertThrowsError(try TokenBatch(ids: [256, 300, 257, 258], count: 2, length: 2)) { error in
            XCTAssertEqual(error as? TokenizerError, .idOutOfRange(row: 0, position: 1, id: 300, vocabularySize: 260))
            XCTAssertTrue("\(error)".contains("row 0, position 1"))
        }
        XCTAssertThrowsError(try TokenBatch(ids: [-1], count: 1, length: 1))
        XCTAssertThrowsError(try TokenBatch(ids: [256, 257, 258], count: 2, length: 2)) { error in
            XCTAssertEqual(error as? TokenizerError, .shapeMismatch(idCount: 3, count: 2, length: 2))
        }
        XCTAssertNoThrow(try TokenBatch(ids: [256, 97, 257, 259], count: 2, length: 2))
    }
}
