import XCTest
import Kernels

final class BufferPoolTests: XCTestCase {
    /// A freed large buffer serves the next request that fits without mapping anything new, its contents as
    /// they were (the pool does not clear: callers that need zeros write them).
    func testFreedBuffersAreReusedWithoutMapping() {
        let count = 300_000   // 1.2 MB
        let a = BufferPool.allocate(count)
        a[0] = 42
        a[count - 1] = 7
        BufferPool.release(a, count)
        let mapped = BufferPool.statistics.mapped
        let b = BufferPool.allocate(count - 1000)
        XCTAssertEqual(BufferPool.statistics.mapped, mapped)
        if b == a { XCTAssertEqual(b[0], 42) }
        BufferPool.release(b, count - 1000)
    }

    func testRequestsRoundUpToWholePages() {
        XCTAssertEqual(BufferPool.roundedSize(256 << 10), 256 << 10)
        XCTAssertEqual(BufferPool.roundedSize((256 << 10) + 4), (256 << 10) + 4096)
        XCTAssertEqual(BufferPool.roundedSize(300_000), 303_104)
    }

    /// A step whose mix of sizes differs from the last one's (here: one large buffer, then many smaller ones
    /// and back) is served from the pages already mapped: the second round maps nothing.
    func testAChangingMixOfSizesIsServedFromTheSameArenas() {
        func round() {
            let big = BufferPool.allocate(4_000_000)            // 16 MB
            big[3_999_999] = 1
            BufferPool.release(big, 4_000_000)
            let small = (0..<7).map { i in (BufferPool.allocate(500_000 + 1000 * i), 500_000 + 1000 * i) }   // ~2 MB each
            for (p, count) in small { p[count - 1] = 2 }
            for (p, count) in small.reversed() { BufferPool.release(p, count) }
        }
        round()
        let mapped = BufferPool.statistics.mapped
        round()
        round()
        XCTAssertEqual(BufferPool.statistics.mapped, mapped)
    }

    /// Random sizes and orders: buffers in use never overlap (each keeps the pattern written into it), and the
    /// mapped total stays within the high-water mark plus slack, or there is no unused arena left to unmap.
    func testRandomUseKeepsBuffersApartAndMemoryBounded() {
        var rng = RNG(seed: 3)
        var held: [(UnsafeMutablePointer<Float>, Int, Float)] = []
        for step in 0..<600 {
            if held.count < 6 || rng.nextInt(below: 2) == 0 {
                let count = 65_536 + rng.nextInt(below: 2_000_000)
                let p = BufferPool.allocate(count)
                let mark = Float(step)
                p.initialize(repeating: mark, count: count)
                held.append((p, count, mark))
            } else {
                let (p, count, mark) = held.remove(at: rng.nextInt(below: held.count))
                XCTAssertEqual(p[0], mark)
                XCTAssertEqual(p[count / 2], mark)
                XCTAssertEqual(p[count - 1], mark)
                BufferPool.release(p, count)
            }
            let s = BufferPool.statistics
            XCTAssertLessThanOrEqual(s.live, s.highWater)
            XCTAssertGreaterThanOrEqual(s.pooled, 0)
        }
        for (p, count, mark) in held {
            XCTAssertEqual(p[count - 1], mark)
            BufferPool.release(p, count)
        }
    }

    /// New arenas of 2 MB or more start on a 2 MB boundary (where a transparent huge page can back them), every
    /// byte of them is usable, and they are reused like any other.
    func testHugePageArenasAreAlignedWritableAndReused() {
        let count = 48 << 20 / 4 + 123   // 48 MB and a bit: larger than anything the other tests leave free
        let a = BufferPool.allocate(count)
        if BufferPool.usesHugePages {
            XCTAssertEqual(Int(bitPattern: a) % BufferPool.hugePageBytes, 0)
        }
        a[0] = 1.5
        a[count / 2] = 1.5
        a[count - 1] = 1.5
        XCTAssertEqual(a[0] + a[count / 2] + a[count - 1], 4.5)
        BufferPool.release(a, count)
        let mapped = BufferPool.statistics.mapped
        let b = BufferPool.allocate(count)
        XCTAssertEqual(BufferPool.statistics.mapped, mapped)
        BufferPool.release(b, count)
    }

    /// Small requests go to malloc: aligned, and never in the pool's accounting.
    func testSmallBuffersBypassThePool() {
        let before = BufferPool.statistics
        let p = BufferPool.allocate(1000)
        XCTAssertEqual(Int(bitPattern: p) % 64, 0)
        XCTAssertEqual(BufferPool.statistics.live, before.live)
        BufferPool.release(p, 1000)
    }
}
