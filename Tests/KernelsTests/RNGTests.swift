import XCTest
import Kernels

final class RNGTests: XCTestCase {
    func testPhiloxKnownAnswer() {
        // Random123 known-answer test philox4x32_10: counter = key = 0 → 6627e8d5 e169c58d bc57ac4c 9b00dbd8.
        let w = RNG(seed: 0, stream: 0).block(0)
        XCTAssertEqual([w.0, w.1, w.2, w.3], [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8])
    }

    func testDrawsDoNotDependOnChunking() {
        var a = RNG(seed: 42)
        let whole = a.normal(count: 1000)
        var b = RNG(seed: 42)
        // The same numbers drawn in pieces that end on block boundaries.
        let parts = b.normal(count: 400) + b.normal(count: 600)
        XCTAssertEqual(whole, parts)
        XCTAssertEqual(a.counter, b.counter)
    }

    func testNormalMoments() {
        var r = RNG(seed: 3)
        let x = r.normal(count: 200_000)
        let mean = x.reduce(0, +) / Float(x.count)
        let varc = x.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(x.count)
        XCTAssertEqual(mean, 0, accuracy: 0.01)
        XCTAssertEqual(varc, 1, accuracy: 0.01)
    }

    func testUniformRangeAndInts() {
        var r = RNG(seed: 5)
        let u = r.uniform(count: 10_000, low: -2, high: 3)
        XCTAssertTrue(u.allSatisfy { $0 >= -2 && $0 < 3 })
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<7000 { counts[r.nextInt(below: 7)] += 1 }
        XCTAssertTrue(counts.allSatisfy { $0 > 850 && $0 < 1150 }, "\(counts)")
    }
}
