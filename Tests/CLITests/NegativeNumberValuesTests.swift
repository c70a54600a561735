@testable import t2ialign
import XCTest

/// `--steps -5` must reach the command's own check instead of argument-parser's "Missing value".
final class NegativeNumberValuesTests: XCTestCase {
    func testJoinsALongOptionWithTheNegativeNumberAfterIt() {
        XCTAssertEqual(NegativeNumberValues.joined(["--steps", "-5", "--lr", "-1e-3", "--beta", "-.5"]),
                       ["--steps=-5", "--lr=-1e-3", "--beta=-.5"])
        XCTAssertEqual(NegativeNumberValues.joined(["--user-weights", "-0.5,-1.5,0,-0.5"]), ["--user-weights=-0.5,-1.5,0,-0.5"])
    }

    func testLeavesEverythingElseAlone() {
        let untouched: [[String]] = [
            ["--steps", "5", "-h"],                 // positive value, short flag
            ["--out", "-run"],                      // a dash-leading word is not a number
            ["--user-weights", "-0.5,x"],           // nor a list with a word in it
            ["--steps=-5"],                         // already joined
            ["-s", "-5"],                           // short options are not rewritten
            ["--", "--steps", "-5"],                // after `--` everything is positional
        ]
        for arguments in untouched {
            XCTAssertEqual(NegativeNumberValues.joined(arguments), arguments, "\(arguments)")
        }
        // Only the option right before the number takes it.
        XCTAssertEqual(NegativeNumberValues.joined(["--steps", "--seed", "-5"]), ["--steps", "--seed=-5"])
    }
}
