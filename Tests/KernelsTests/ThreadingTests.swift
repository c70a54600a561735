import Foundation
import Kernels
import Synchronization
import XCTest

/// `Threading.parallelFor` on the spinning `WorkerPool`: every item exactly once, whatever the timing
/// between regions (workers spinning, or asleep and woken), nested calls and concurrent callers.
final class ThreadingTests: XCTestCase {
    /// Counts how often each index ran (under a lock, so a double run cannot hide).
    final class Tally: Sendable {
        let counts: Mutex<[Int]>
        init(_ n: Int) { counts = Mutex([Int](repeating: 0, count: n)) }
        func hit(_ i: Int) { counts.withLock { $0[i] += 1 } }
        var all: [Int] { counts.withLock { $0 } }
    }

    func testEveryItemRunsExactlyOnceForAnyCount() {
        for count in [0, 1, 2, 3, 7, 64, 1000] {
            let tally = Tally(count)
            Threading.parallelFor(count) { tally.hit($0) }
            XCTAssertEqual(tally.all, [Int](repeating: 1, count: count), "count \(count)")
        }
    }

    /// Back-to-back regions (workers still spinning) and regions after pauses longer than the spin limit
    /// (workers asleep on the semaphore), mixed, so the hand-over between spinning and sleeping is crossed
    /// many times.
    func testRegionsAfterShortAndLongPausesAllComplete() {
        var rng = SystemRandomNumberGenerator()
        for round in 0..<400 {
            let count = Int.random(in: 2...40, using: &rng)
            let tally = Tally(count)
            Threading.parallelFor(count) { i in
                if i % 5 == 0 { usleep(UInt32.random(in: 0...50)) }
                tally.hit(i)
            }
            XCTAssertEqual(tally.all, [Int](repeating: 1, count: count), "round \(round)")
            if round % 3 == 0 { usleep(UInt32.random(in: 0...900)) }  // around the 300 µs spin limit
        }
    }

    /// A region opened from inside an item (the pool is busy) still runs all of its items.
    func testNestedRegionsRunEveryInnerItem() {
        let outer = 6, inner = 50
        let tally = Tally(outer * inner)
        Threading.parallelFor(outer) { o in
            Threading.parallelFor(inner) { i in tally.hit(o * inner + i) }
        }
        XCTAssertEqual(tally.all, [Int](repeating: 1, count: outer * inner))
    }

    /// Two threads opening regions at the same time: one gets the pool, the other falls back, none is lost.
    func testConcurrentCallersFromTwoThreads() {
        let count = 300
        let a = Tally(count), b = Tally(count)
        let group = DispatchGroup()
        for tally in [a, b] {
            group.enter()
            Thread {
                for _ in 0..<20 { Threading.parallelFor(count) { tally.hit($0) } }
                group.leave()
            }.start()
        }
        group.wait()
        XCTAssertEqual(a.all, [Int](repeating: 20, count: count))
        XCTAssertEqual(b.all, [Int](repeating: 20, count: count))
    }

    /// Per-item results land where they belong and equal a serial loop's, bit for bit.
    func testParallelRangesMatchASerialLoop() {
        let n = 300_000
        let x = (0..<n).map { Float($0 % 977) * 0.001 }
        var y = [Float](repeating: 0, count: n)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                let (xs, ys) = (UncheckedSendable(xp), UncheckedSendable(yp))
                Threading.parallelRanges(n, minChunk: 1000) { r in
                    for i in r { ys.value[i] = xs.value[i] * xs.value[i] + 1 }
                }
            }
        }
        XCTAssertEqual(y, x.map { $0 * $0 + 1 })
    }
}
