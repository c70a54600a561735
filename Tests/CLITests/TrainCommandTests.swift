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

    func testNegativeStepsSpelledWithASpaceGetTheTrainersMessage() throws {
        // As the binary's entry point passes them: `--steps -5`, not argument-parser's "Missing value".
        let (message, dataMade) = try failure(NegativeNumberValues.joined(["--steps", "-5"]))
        XCTAssertTrue(message.contains("--steps") && message.contains("must be positive"), message)
        XCTAssertFalse(dataMade)
    }

    func testUnknownUserSupportIsRejectedBeforeAnyWork() throws {
        let (message, dataMade) = try failure(["--personalized", "--user-support", "best"])
        XCTAssertTrue(message.contains("--user-support must be one of informative, random"), message)
        XCTAssertFalse(dataMade)
        let (plain, _) = try failure(["--user-support", "random"])
        XCTAssertTrue(plain.contains("need --personalized"), plain)
    }

    func testUnknownUserInjectionIsRejectedBeforeAnyWork() throws {
        let (message, dataMade) = try failure(["--personalized", "--user-injection", "film"])
        XCTAssertTrue(message.contains("--user-injection must be one of appended, decoupled"), message)
        XCTAssertFalse(dataMade)
        for flag in [["--user-injection", "decoupled"], ["--user-taste-pairs", "0.1"]] {
            let (plain, _) = try failure(flag)
            XCTAssertTrue(plain.contains("need --personalized"), plain)
        }
        let (margin, _) = try failure(["--personalized", "--user-taste-pairs", "2"])
        XCTAssertTrue(margin.contains("--user-taste-pairs"), margin)
    }
}

/// `t2ialign user-encoder train` and `eval --spread`: bad flags name themselves.
final class UserEncoderCommandTests: XCTestCase {
    func testTooFewTrainingUsersAndMissingScorerAreClearErrors() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("t2ialign-ue-\(UUID().uuidString)").path
        var message = ""
        XCTAssertThrowsError(try UserEncoderTrainCommand.parse(["--users", "3", "--out", out]).run()) { message = "\($0)" }
        XCTAssertTrue(message.contains("--users") && message.contains("at least 2"), message)
        XCTAssertThrowsError(try UserEncoderTrainCommand.parse(["--users", "3,4", "--scorer", out + "-none", "--data", "Samples/shapes-mini",
                                                                "--out", out]).run()) { message = "\($0)" }
        XCTAssertTrue(message.contains("--scorer") && message.contains(out + "-none"), message)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing written for a rejected flag")
    }

    func testSpreadAndLimitAreExclusive() throws {
        XCTAssertThrowsError(try EvalCommand.parse(["--model", "a", "--baseline", "b", "--oracle", "--limit", "3", "--spread", "2"])) { error in
            XCTAssertTrue(EvalCommand.message(for: error).contains("at most one of --limit and --spread"), EvalCommand.message(for: error))
        }
        XCTAssertEqual(PromptFile.evenlySpread(["a", "b", "c", "d", "e", "f"], count: 3), ["a", "c", "e"])
        XCTAssertEqual(PromptFile.evenlySpread(["a", "b"], count: 5), ["a", "b"])
    }
}
