#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// Float buffers for tensors and kernel scratch. Large ones (≥ 256 KB) are cut from mapped arenas kept for
/// reuse: a training step frees and reallocates the same sizes every iteration, and through malloc each big
/// block came back as fresh pages for the kernel to fault in and zero (8% of a tiny SFT step's CPU), while
/// blocks left in malloc's heap fragmented it (+170 MB of peak RSS on a small SFT step with gradient
/// checkpointing, against mapping every block afresh).
///
/// A request takes the smallest free block that holds it, split so the rest stays free; a freed block merges
/// with its free neighbours (`ArenaBlocks`). So any mix of sizes is served from the same, already faulted-in
/// pages: buffers kept by size class alone (the earlier rule) did not fit the next step's mix, and a small
/// SFT step unmapped and mapped again 140 MB of them every iteration. Only when nothing free fits is a new
/// arena mapped, after unmapping arenas left entirely free (largest first) while the mapped total would exceed
/// the high-water mark of large buffers in use at once plus `slack`. Small buffers go to malloc. Arenas of
/// 2 MB or more are 2 MB-aligned, whole 2 MB pages, and advised for transparent huge pages (when the kernel
/// offers them, `madvise` mode): a page fault fills 2 MB instead of 4 KB and the TLB covers a U-Net's
/// activations. `T2I_HUGEPAGES=0` maps 4 KB pages only. `bench model` reports the MB mapped per timed step.
public enum BufferPool {
    /// Requests below this many bytes are served by malloc.
    public static let largeBytes = 256 << 10

    struct State {
        var arenas = ArenaBlocks()
        var liveBytes = 0
        var highWater = 0
        /// Bytes mapped since the process started (each mapping's pages are faulted in and zeroed on first use).
        var mappedBytes = 0
    }

    static let state = Mutex(State())
    public static let pageBytes = 4096

    /// An uninitialised buffer of `count` floats, 64-byte aligned.
    public static func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        guard bytes >= largeBytes else {
            return UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64).bindMemory(to: Float.self, capacity: max(count, 1))
        }
        let size = roundedSize(bytes)
        let arenaSize = usesHugePages && size >= hugePageBytes ? (size + hugePageBytes - 1) / hugePageBytes * hugePageBytes : size
        let (reused, victims): (UInt?, [(start: UInt, size: Int)]) = state.withLock { s in
            s.liveBytes += size
            s.highWater = max(s.highWater, s.liveBytes)
            if let start = s.arenas.take(size) { return (start, []) }
            // A new arena: first unmap arenas nobody uses while the mapped total would pass the limit.
            var victims: [(start: UInt, size: Int)] = []
            while s.arenas.heldBytes + arenaSize > s.highWater + slack(s.highWater), let arena = s.arenas.removeLargestFreeArena() {
                victims.append(arena)
            }
            return (nil, victims)
        }
        for victim in victims { munmap(UnsafeMutableRawPointer(bitPattern: victim.start), victim.size) }
        if let reused { return UnsafeMutableRawPointer(bitPattern: reused)!.bindMemory(to: Float.self, capacity: count) }
        let raw = map(arenaSize)
        state.withLock { s in
            s.arenas.addArena(start: UInt(bitPattern: raw), size: arenaSize, taken: size)
            s.mappedBytes += arenaSize
        }
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
            guard let size = s.arenas.give(UInt(bitPattern: pointer)) else {
                preconditionFailure("BufferPool.release: \(pointer) was not allocated by the pool")
            }
            s.liveBytes -= size
        }
    }

    /// Large-buffer bytes in use, mapped but free, the most in use at once, and mapped so far (for tests and
    /// benchmarks: mappings made in a steady training loop are pages faulted in and zeroed again).
    public static var statistics: (live: Int, pooled: Int, highWater: Int, mapped: Int) {
        state.withLock { s in (s.liveBytes, s.arenas.heldBytes - s.liveBytes, s.highWater, s.mappedBytes) }
    }

    /// Requests are rounded up to whole 4 KB pages (so every block starts on one).
    public static func roundedSize(_ bytes: Int) -> Int { (bytes + pageBytes - 1) / pageBytes * pageBytes }

    /// How far the mapped arenas may exceed the high-water mark before free ones are unmapped: room for
    /// fragmentation and for arenas rounded up to whole 2 MB pages. An eighth of the mark, at least
    /// `minimumSlackBytes` (inference holds only a few activations at once).
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

}
