import Foundation
@testable import t2ialign
import XCTest

/// `t2ialign train` checks its closing-evaluation flags before it synthesizes data or trains, so a typo
/// costs nothing.
final class TrainCommandTests: XCTestCase {
    private func failure(_ arguments: [String]) throws -> (message: String, dataMade: Bool) {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("t2ialign-train-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: data) }
        let command = try TrainCommand.parse(arguments + ["--data", data, "--out", data + "-run"])
        var message = ""
        XCTAssertThrowsError(try command.run()) { message = String(describing: $0) }
        return (message, FileManager.default.fileExists(atPath: data) || FileManager.default.fileExists(atPath: data + "-run"))
    }

    func testEvalStepsBelowOneIsRejectedBeforeAnyWork() throws {
        let (message, dataMade) = try failure(["--eval-steps", "0"])
        XCTAssertTrue(message.contains("--eval-steps must be at least 1"), message)
        XCTAssertFalse(dataMade, "no data synthesized and no run folder for a rejected flag")
    }

    func testNegativeEvalPromptsIsRejectedBeforeAnyWork() throws {
        let (message, dataMade) = try failure(["--eval-prompts=-1"])
        XCTAssertTrue(message.contains("--eval-prompts must be 0"), message)
        XCTAssertFalse(dataMade)
    }
}
