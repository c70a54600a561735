import CBLAS
import Dispatch
import Foundation

/// The threading policy for small machines (2 cores): one level of parallelism, all of it ours.
///
/// Swift code splits work across cores with `parallelFor`/`parallelBatch` (on the `WorkerPool`), and
/// OpenBLAS always runs single-threaded inside those workers: `configure` pins it to one thread for good.
/// OpenBLAS's own threads busy-wait with sched_yield for ~0.1 s after every multi-threaded call, taking a
/// core from the pool's workers (measured: 2.7% of a tiny SFT step's CPU in one such thread), and large
/// products are cut per core by `MatrixMultiplyKernels.gemm` instead. `withOpenBLASThreads` lends
/// OpenBLAS every core for a reference measurement (`t2ialign bench kernels`).
/// The environment (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS) does not decide: `configure` sets it explicitly.
public enum Threading {
    /// Cores used by the process (T2I_THREADS overrides, for benchmarks and tests).
    public static let cores: Int = {
        if let s = ProcessInfo.processInfo.environment["T2I_THREADS"], let n = Int(s), n > 0 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    private static let pinnedOpenBLAS: Void = openblas_set_num_threads(1)

    /// Sets OpenBLAS to one thread, once (`BLAS.sgemm` calls it before every product, so no caller can
    /// reach OpenBLAS's threads by forgetting it); after the first call this is a single load.
    public static func configure() { _ = pinnedOpenBLAS }

    /// Runs `body` with OpenBLAS on `cores` threads (a single cblas_sgemm over every core), then pins it
    /// back to one. Not for use while kernels run on other threads.
    public static func withOpenBLASThreads<T>(_ body: () throws -> T) rethrows -> T {
        configure()
        openblas_set_num_threads(Int32(cores))
        defer { openblas_set_num_threads(1) }
        return try body()
    }

    /// Runs `body(i)` for i in 0..<count on up to `cores` threads: the `WorkerPool`'s spinning workers, or
    /// Dispatch's when the pool is already running a region (a nested call, or another thread's).
    /// Falls back to a plain loop for a single item or a single core. `body` must only write to disjoint
    /// memory for different i.
    public static func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        if count <= 1 || cores == 1 {
            for i in 0..<count { body(i) }
            return
        }
        if WorkerPool.shared.run(count, body) { return }
        withoutActuallyEscaping(body) { escaping in
            let box = UncheckedSendable(escaping)
            DispatchQueue.concurrentPerform(iterations: count) { i in box.value(i) }
        }
    }

    /// Splits 0..<total into at most `cores` contiguous ranges of at least `minChunk` items and runs them
    /// in parallel. Use for elementwise work; below ~64K floats a single thread is faster.
    @inlinable
    public static func parallelRanges(_ total: Int, minChunk: Int = 1 << 16, _ body: (Range<Int>) -> Void) {
        let parts = min(cores, max(1, total / max(1, minChunk)))
        if parts <= 1 {
            body(0..<total)
            return
        }
        parallelFor(parts) { p in
            let lo = total * p / parts, hi = total * (p + 1) / parts
            body(lo..<hi)
        }
    }

    /// Runs `body(i)` for independent batch items in parallel; GEMMs inside `body` call `BLAS.sgemm`
    /// (single-threaded, see `configure`) so the cores are never oversubscribed.
    @inlinable
    public static func parallelBatch(_ count: Int, _ body: (Int) -> Void) {
        parallelFor(count, body)
    }
}

/// Lets a non-Sendable value cross into `concurrentPerform`; callers guarantee disjoint writes.
public struct UncheckedSendable<T>: @unchecked Sendable {
    public let value: T
    @inlinable public init(_ value: T) { self.value = value }
}
