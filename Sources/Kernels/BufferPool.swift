#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Float buffers for tensors and kernel scratch. Large ones (≥ 256 KB) are mapped pages kept for reuse:
/// a training step frees and reallocates the same sizes every iteration, and through malloc each big
/// block came back as fresh pages for the kernel to fault in and zero (8% of a tiny SFT step's CPU), while
/// blocks left in malloc's heap fragmented it (+170 MB of peak RSS on a small SFT step with gradient
/// checkpointing, against mapping every block afresh).
///
/// A freed buffer is kept under its size class and taken again by the next request that fits it (up to
/// twice the request); pooled
/// buffers (largest first) are unmapped when a new mapping would push live + pooled above 1.5× the
/// high-water mark of large buffers in use at once (or that mark + 32 MB, whichever is more). Small buffers go to malloc. Measured on `bench model`
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
    /// again every step. At least `minimumSlackBytes`: inference holds only a few activations at once,
    /// and half of that high-water mark still remapped three buffers per tiny U-Net forward (3,000 page
    /// faults each, 3% of a DDIM step's CPU).
    public static func slack(_ highWater: Int) -> Int { max(highWater / 2, minimumSlackBytes) }
    public static let minimumSlackBytes = 32 << 20

    private static func map(_ size: Int) -> UnsafeMutableRawPointer {
        guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              p != MAP_FAILED else {
            fatalError("BufferPool: out of memory mapping \(size) bytes")
        }
        return p
    }

    private static func unmap(_ address: UInt, _ size: Int) {
        munmap(UnsafeMutableRawPointer(bitPattern: address), size)
    }
}
