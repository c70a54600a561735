#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// Float buffers for tensors and kernel scratch. Large ones (≥ 256 KB) are mapped pages kept for reuse:
/// a training step frees and reallocates the same sizes every iteration, and through malloc each big
/// block came back as fresh pages for the kernel to fault in and zero (8% of a tiny SFT step's CPU), while
/// blocks left in malloc's heap fragmented it (+170 MB of peak RSS on a small SFT step with gradient
/// checkpointing, against mapping every block afresh).
///
/// A freed buffer is kept under its size class and taken again by the next request that fits it (up to
/// twice the request); pooled buffers (largest first) are unmapped when a new mapping would push live +
/// pooled above the high-water mark of large buffers in use at once plus `slack`. Small buffers go to
/// malloc. Buffers of 2 MB or more are 2 MB-aligned and advised for transparent huge pages (when the
/// kernel offers them, `madvise` mode): a page fault fills 2 MB instead of 4 KB and the TLB covers a
/// U-Net's activations. `T2I_HUGEPAGES=0` maps 4 KB pages only. Measured on `bench model`
/// (docs/PERFORMANCE.md): no page faults after the first steps, and a lower peak RSS than malloc's.
public enum BufferPool {
    /// Requests below this many bytes are served by malloc.
    public static let largeBytes = 256 << 10

    /// Pooled buffers are kept as addresses (raw pointers are not Sendable, so cannot sit in the Mutex).
    struct State {
        var free: [Int: [UInt]] = [:]
        var pooledBytes = 0
        var liveBytes = 0
        var highWater = 0
        /// The mapped size of every large buffer in use (a request may get a larger pooled buffer).
        var inUse: [UInt: Int] = [:]
    }

    static let state = Mutex(State())
    public static let pageBytes = 4096

    /// An uninitialised buffer of `count` floats, 64-byte aligned.
    public static func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        guard bytes >= largeBytes else {
            return UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64).bindMemory(to: Float.self, capacity: max(count, 1))
        }
        let size = sizeClass(bytes)
        let (reused, victims): (UInt?, [(UInt, Int)]) = state.withLock { s in
            // The pooled buffer of the smallest class that fits, up to twice the request: each layer of a
            // network asks for a slightly different size, and exact classes alone kept remapping.
            if let key = s.free.keys.lazy.filter({ $0 >= size && $0 <= 2 * size }).min(), var list = s.free[key],
               let p = list.popLast() {
                s.free[key] = list.isEmpty ? nil : list
                s.pooledBytes -= key
                s.liveBytes += key
                s.highWater = max(s.highWater, s.liveBytes)
                s.inUse[p] = key
                return (p, [])
            }
            var victims: [(UInt, Int)] = []
            s.liveBytes += size
            s.highWater = max(s.highWater, s.liveBytes)
            // Unmap pooled buffers until the new mapping fits under the limit.
            while s.pooledBytes > 0, s.liveBytes + s.pooledBytes > s.highWater + slack(s.highWater),
                  let (key, list) = s.free.max(by: { $0.key < $1.key }) {
                victims.append((list[list.count - 1], key))
                s.free[key] = list.count == 1 ? nil : Array(list.dropLast())
                s.pooledBytes -= key
            }
            return (nil, victims)
        }
        for (p, key) in victims { unmap(p, key) }
        if let reused { return UnsafeMutableRawPointer(bitPattern: reused)!.bindMemory(to: Float.self, capacity: count) }
        let raw = map(size)
        state.withLock { $0.inUse[UInt(bitPattern: raw)] = size }
        return raw.bindMemory(to: Float.self, capacity: count)
    }

    /// Returns a buffer from `allocate(count)` (the same count).
    public static func release(_ pointer: UnsafeMutablePointer<Float>, _ count: Int) {
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        guard bytes >= largeBytes else {
            UnsafeMutableRawPointer(pointer).deallocate()
            return
        }
        state.withLock { s in
            let address = UInt(bitPattern: pointer)
            guard let size = s.inUse.removeValue(forKey: address) else {
                preconditionFailure("BufferPool.release: \(pointer) was not allocated by the pool")
            }
            s.liveBytes -= size
            s.free[size, default: []].append(address)
            s.pooledBytes += size
        }
    }

    /// Large-buffer bytes in use, held for reuse, and the most in use at once (for tests and benchmarks).
    public static var statistics: (live: Int, pooled: Int, highWater: Int) {
        state.withLock { ($0.liveBytes, $0.pooledBytes, $0.highWater) }
    }

    /// Sizes are rounded up to eighths of their power of two (at most 12.5% more), so requests that
    /// differ by a few rows (a 1028 KB and a 1 MB activation) share buffers.
    public static func sizeClass(_ bytes: Int) -> Int {
        let power = 1 << (Int.bitWidth - 1 - bytes.leadingZeroBitCount)
        let step = max(pageBytes, power / 8)
        return (bytes + step - 1) / step * step
    }

    /// How far live + pooled may exceed the high-water mark before pooled buffers are unmapped: a step's
    /// mix of sizes is not the same at every moment, and without slack buffers were unmapped and mapped
    /// again every step. An eighth of the mark: the buffers pooled at a training step's peak are the
    /// backward pass's, idle until it starts, and a half (the earlier rule) kept 30–40 MB more of them
    /// resident for no measurable speed (paired `bench model` runs, docs/PERFORMANCE.md). At least
    /// `minimumSlackBytes`: inference holds only a few activations at once, and a proportional slack
    /// remapped three buffers per tiny U-Net forward (3,000 page faults each, 3% of a DDIM step's CPU).
    public static func slack(_ highWater: Int) -> Int { max(highWater / 8, minimumSlackBytes) }
    public static let minimumSlackBytes = 32 << 20

    /// Transparent huge pages for buffers of at least `hugePageBytes` (off with `T2I_HUGEPAGES=0`).
    public static let usesHugePages = ProcessInfo.processInfo.environment["T2I_HUGEPAGES"] != "0"
    public static let hugePageBytes = 2 << 20

    private static func map(_ size: Int) -> UnsafeMutableRawPointer {
        let huge = usesHugePages && size >= hugePageBytes
        // A huge page needs a 2 MB-aligned address: map 2 MB more and unmap the unaligned ends.
        let mapped = huge ? size + hugePageBytes : size
        guard let p = mmap(nil, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              p != MAP_FAILED else {
            fatalError("BufferPool: out of memory mapping \(size) bytes")
        }
        guard huge else { return p }
        let start = UInt(bitPattern: p)
        let aligned = (start + UInt(hugePageBytes) - 1) & ~UInt(hugePageBytes - 1)
        let head = Int(aligned - start), tail = hugePageBytes - head
        if head > 0 { munmap(p, head) }
        if tail > 0 { munmap(UnsafeMutableRawPointer(bitPattern: aligned + UInt(size)), tail) }
        let buffer = UnsafeMutableRawPointer(bitPattern: aligned)!
        #if os(Linux)
        _ = madvise(buffer, size, Int32(MADV_HUGEPAGE))  // advice only: without THP the pages stay 4 KB
        #endif
        return buffer
    }

    private static func unmap(_ address: UInt, _ size: Int) {
        munmap(UnsafeMutableRawPointer(bitPattern: address), size)
    }
}
