import Kernels
import Synchronization

/// A contiguous, 64-byte-aligned Float32 buffer (from `BufferPool`). Tensors share storage when they are
/// views (reshape).
public final class Storage: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    /// Allocates `count` floats, zero-filled unless `zeroed` is false (then the contents are undefined).
    public init(count: Int, zeroed: Bool = true) {
        precondition(count >= 0, "negative storage size")
        self.count = count
        pointer = BufferPool.allocate(count)
        if zeroed { pointer.initialize(repeating: 0, count: count) }
        Storage.track(count * 4)
    }

    deinit {
        Storage.track(-count * 4)
        BufferPool.release(pointer, count)
    }

    // MARK: Accounting

    private static let live = Atomic<Int>(0)
    private static let peak = Atomic<Int>(0)

    private static func track(_ bytes: Int) {
        let now = live.add(bytes, ordering: .relaxed).newValue
        if bytes > 0 { _ = peak.max(now, ordering: .relaxed) }
    }

    /// Bytes held by all tensors now, and the most held at once since the last `resetPeak()`.
    public static var liveBytes: Int { live.load(ordering: .relaxed) }
    public static var peakBytes: Int { peak.load(ordering: .relaxed) }
    public static func resetPeak() { peak.store(live.load(ordering: .relaxed), ordering: .relaxed) }
}
