import XCTest
import Autograd

final class StorageTests: XCTestCase {
    /// liveBytes follows allocations and releases; peakBytes keeps the high-water mark until resetPeak().
    /// (Other tests may allocate concurrently only if run in parallel, which Scripts/test.sh does not.)
    func testLiveAndPeakBytes() {
        let before = Storage.liveBytes
        Storage.resetPeak()
        do {
            let a = Storage(count: 1000), b = Storage(count: 500, zeroed: false)
            XCTAssertEqual(Storage.liveBytes - before, 6000)
            withExtendedLifetime((a, b)) {}
        }
        XCTAssertEqual(Storage.liveBytes, before)
        XCTAssertGreaterThanOrEqual(Storage.peakBytes - before, 6000)
        Storage.resetPeak()
        XCTAssertEqual(Storage.peakBytes, before)
    }
}
