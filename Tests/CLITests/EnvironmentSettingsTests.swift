import XCTest
@testable import t2ialign

final class EnvironmentSettingsTests: XCTestCase {
    func testUsableValuesPass() {
        XCTAssertEqual(EnvironmentSettings.problems(in: [:]), [])
        XCTAssertEqual(EnvironmentSettings.problems(in: ["T2I_THREADS": "2", "T2I_WINOGRAD": "0"]), [])
        XCTAssertEqual(EnvironmentSettings.problems(in: ["T2I_WINOGRAD": "1", "PATH": "/usr/bin"]), [])
        XCTAssertEqual(EnvironmentSettings.problems(in: ["T2I_WINOGRAD": "2"]), [])
        XCTAssertEqual(EnvironmentSettings.problems(in: ["T2I_WINOGRAD": "4"]), [])
        XCTAssertEqual(EnvironmentSettings.problems(in: ["T2I_WINOGRAD": "3"]).count, 1)
        XCTAssertEqual(EnvironmentSettings.problems(in: ["T2I_HUGEPAGES": "0"]), [])
        XCTAssertEqual(EnvironmentSettings.problems(in: ["T2I_HUGEPAGES": "1"]), [])
        XCTAssertEqual(EnvironmentSettings.problems(in: ["T2I_BLAS_CORE": "best"]), [])
        XCTAssertEqual(EnvironmentSettings.problems(in: ["T2I_BLAS_CORE": "keep"]), [])
    }

    func testTyposNameTheVariableAndTheFix() {
        let problems = EnvironmentSettings.problems(in: ["T2I_THREADS": "two", "T2I_WINOGRAD": "yes"])
        XCTAssertEqual(problems.count, 2)
        XCTAssertTrue(problems[0].contains("T2I_THREADS='two'") && problems[0].contains("positive integer"), problems[0])
        XCTAssertTrue(problems[1].contains("T2I_WINOGRAD='yes'") && problems[1].contains("0") && problems[1].contains("1"), problems[1])
        let pages = EnvironmentSettings.problems(in: ["T2I_HUGEPAGES": "off"])
        XCTAssertEqual(pages.count, 1)
        XCTAssertTrue(pages[0].contains("T2I_HUGEPAGES='off'") && pages[0].contains("0 (4 KB pages only)"), pages[0])
        let core = EnvironmentSettings.problems(in: ["T2I_BLAS_CORE": "Haswell"])
        XCTAssertEqual(core.count, 1)
        XCTAssertTrue(core[0].contains("T2I_BLAS_CORE='Haswell'") && core[0].contains("best") && core[0].contains("keep"), core[0])
        XCTAssertEqual(EnvironmentSettings.problems(in: ["T2I_THREADS": "0"]).count, 1)
        XCTAssertEqual(EnvironmentSettings.problems(in: ["T2I_THREADS": "-3"]).count, 1)
    }
}
