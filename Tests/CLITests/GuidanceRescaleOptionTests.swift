@testable import t2ialign
import XCTest

/// `--guidance-rescale` is checked when the flags are parsed, in `sample` and `eval` alike.
final class GuidanceRescaleOptionTests: XCTestCase {
    func testOutOfRangeRescaleIsRejectedByBothCommands() throws {
        for bad in ["1.5", "-0.2"] {
            XCTAssertThrowsError(try SampleCommand.parse(["--model", "m", "--prompt", "p", "--guidance-rescale=\(bad)"])) { error in
                XCTAssertTrue(SampleCommand.message(for: error).contains("--guidance-rescale must be from 0 (off) to 1"),
                              SampleCommand.message(for: error))
            }
            XCTAssertThrowsError(try EvalCommand.parse(["--model", "a", "--baseline", "b", "--oracle", "--guidance-rescale=\(bad)"])) { error in
                XCTAssertTrue(EvalCommand.message(for: error).contains("--guidance-rescale"), EvalCommand.message(for: error))
            }
        }
        XCTAssertNil(try SampleCommand.parse(["--model", "m", "--prompt", "p"]).guidanceRescale.value, "off by default")
        XCTAssertEqual(try EvalCommand.parse(["--model", "a", "--baseline", "b", "--oracle", "--guidance-rescale", "0.7"]).guidanceRescale.value, 0.7)
    }
}
