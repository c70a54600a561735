import Foundation
@testable import t2ialign
import XCTest

/// `t2ialign pretrain` refuses contradictory or bad flags before it builds a model or writes a run folder.
final class PretrainCommandTests: XCTestCase {
    private func failure(_ arguments: [String]) throws -> (message: String, runMade: Bool) {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("t2ialign-pretrain-\(UUID().uuidString)").path
        let command = try PretrainCommand.parse(arguments + ["--out", out, "--steps", "1"])
        var message = ""
        XCTAssertThrowsError(try command.run()) { message = String(describing: $0) }
        return (message, FileManager.default.fileExists(atPath: out))
    }

    func testInitAndConfigTogetherAreRejected() throws {
        let (message, runMade) = try failure(["--init", "Models/shapes-base", "--config", "tiny"])
        XCTAssertTrue(message.contains("either --init") && message.contains("--config"), message)
        XCTAssertFalse(runMade)
    }

    func testUnknownPredictionTypeNamesTheChoices() throws {
        let (message, runMade) = try failure(["--prediction-type", "sample"])
        XCTAssertTrue(message.contains("prediction_type") && message.contains("v_prediction"), message)
        XCTAssertFalse(runMade)
    }

    func testNegativeNoiseOffsetIsRejected() throws {
        let (message, runMade) = try failure(["--noise-offset=-0.1"])
        XCTAssertTrue(message.contains("--noise-offset"), message)
        XCTAssertFalse(runMade)
    }

    func testMissingInitFolderIsAClearError() throws {
        let (message, runMade) = try failure(["--init", "/nonexistent/model"])
        XCTAssertTrue(message.contains("/nonexistent/model"), message)
        XCTAssertFalse(runMade)
    }
}
