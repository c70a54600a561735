import XCTest
import Kernels

final class BufferPoolTests: XCTestCase {
    /// A freed large buffer is handed out again for a request of the same size class, with its contents
    /// intact (the pool does not clear it: callers that need zeros write them).
    func testLargeBuffersAreReusedBySizeClass() {
        let count = 300_000   // 1.2 MB
        let a = BufferPool.allocate(count)
        a[0] = 42
        a[count - 1] = 7
        BufferPool.release(a, count)
        let b = BufferPool.allocate(count - 1000)   // a few KB less: the same class
        XCTAssertEqual(b, a)
        XCTAssertEqual(b[0], 42)
        BufferPool.release(b, count - 1000)
    }

    func testSizeClassesRoundUpByAtMostAnEighth() {
        for bytes in [256 << 10, 300_000, 1 << 20, (1 << 20) + 4, 3_000_000, 16 << 20, 50_000_123] {
            let size = BufferPool.sizeClass(bytes)
            XCTAssertGreaterThanOrEqual(size, bytes)
            XCTAssertLessThanOrEqual(Double(size), Double(bytes) * 1.125 + 4096)
            XCTAssertEqual(size % BufferPool.pageBytes, 0)
        }
        XCTAssertEqual(BufferPool.sizeClass(1 << 20), 1 << 20)
        XCTAssertEqual(BufferPool.sizeClass((1 << 20) + 4), (1 << 20) + (1 << 17))
    }

    /// Live + pooled large bytes stay within 1.5× the most ever in use at once, however the sizes vary.
    func testPooledMemoryStaysBoundedByTheHighWaterMark() {
        var rng = RNG(seed: 3)
        var held: [(UnsafeMutablePointer<Float>, Int)] = []
        for _ in 0..<400 {
            if held.count < 6 || rng.nextInt(below: 2) == 0 {
                let count = 65_536 + rng.nextInt(below: 2_000_000)
                let p = BufferPool.allocate(count)
                p[count - 1] = 1   // the whole buffer is writable
                held.append((p, count))
            } else {
                let (p, count) = held.remove(at: rng.nextInt(below: held.count))
                BufferPool.release(p, count)
            }
            let s = BufferPool.statistics
            XCTAssertLessThanOrEqual(s.live, s.highWater)
            XCTAssertLessThanOrEqual(s.live + s.pooled, s.highWater + BufferPool.slack(s.highWater))
        }
        for (p, count) in held { BufferPool.release(p, count) }
    }

    /// Buffers of 2 MB or more start on a 2 MB boundary (where a transparent huge page can back them), every
    /// byte of them is usable, and they are reused like any other.
    func testHugePageBuffersAreAlignedWritableAndReused() {
        let count = 3 * BufferPool.hugePageBytes / 4 + 123   // 3 MB and a bit
        let a = BufferPool.allocate(count)
        if BufferPool.usesHugePages {
            XCTAssertEqual(Int(bitPattern: a) % BufferPool.hugePageBytes, 0)
        }
        a.initialize(repeating: 1.5, count: count)
        XCTAssertEqual(a[0] + a[count / 2] + a[count - 1], 4.5)
        BufferPool.release(a, count)
        let b = BufferPool.allocate(count)
        XCTAssertEqual(b, a)
        XCTAssertEqual(b[count - 1], 1.5)
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
