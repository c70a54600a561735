@testable import t2ialign
import XCTest

/// `scorer train`'s architecture flags fail before any data is read or synthesized.
final class ScorerCommandTests: XCTestCase {
    func testNegativeDetailChannelsNamesTheFlag() throws {
        let missing = NSTemporaryDirectory() + "t2i-scorer-cli-\(UUID().uuidString)"
        let command = try ScorerTrainCommand.parse(["--data", missing, "--out", missing + "-run", "--detail-channels=-1"])
        XCTAssertThrowsError(try command.run()) { XCTAssertTrue("\($0)".contains("--detail-channels -1"), "\($0)") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing), "no dataset may be synthesized for a bad flag")
    }
}
