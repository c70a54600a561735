import Foundation
import Synchronization

/// Persistent worker threads for `Threading.parallelFor`: `cores − 1` workers plus the calling thread,
/// items handed out one at a time from a shared counter.
///
/// Why not `DispatchQueue.concurrentPerform`: a training step opens about a thousand short parallel regions,
/// and Dispatch's workers go to sleep between them, so every region paid a futex wake-up and its tail waited
/// for a thread that was still waking (measured on tiny sft, 2 cores: 12% of the CPU time in the kernel —
/// futex, sched_yield, context switches — and both cores busy only 87% of the step). Here a worker that
/// finishes a region spins for the next one for up to `spinLimit` before it sleeps, as OpenMP runtimes
/// do, so back-to-back regions start without a system call.
///
/// One region at a time: a call made while a region is running (from a worker, or from another thread)
/// returns false and the caller runs the items some other way.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool(workers: Threading.cores - 1)

    /// How long an idle worker polls for the next region before sleeping on the semaphore.
    static let spinLimit: Duration = .microseconds(300)

    let workers: Int
    private let busy = Atomic<Bool>(false)
    /// Odd while a region is open, even when closed; workers wait for an odd value they have not served.
    private let generation = Atomic<Int>(0)
    private let nextItem = Atomic<Int>(0)
    private let finishedItems = Atomic<Int>(0)
    /// Workers that may read `body`; the region's closure outlives none of them.
    private let attached = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let wake = DispatchSemaphore(value: 0)
    // Written by the caller only while the region is closed and no worker is attached.
    nonisolated(unsafe) private var itemCount = 0
    nonisolated(unsafe) private var body: ((Int) -> Void)?

    /// Starts the worker threads (`shared` is created on first use, so a process that never opens a
    /// parallel region starts none).
    init(workers: Int) {
        self.workers = max(0, workers)
        for index in 0..<self.workers {
            let thread = Thread { [self] in workerLoop() }
            thread.name = "t2ialign-worker-\(index + 1)"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Runs `body(i)` for i in 0..<count on the workers and the calling thread; returns false without
    /// running anything when another region is in progress.
    func run(_ count: Int, _ body: (Int) -> Void) -> Bool {
        guard workers > 0, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            return false
        }
        defer { busy.store(false, ordering: .releasing) }
        withoutActuallyEscaping(body) { escaping in
            itemCount = count
            self.body = escaping
            nextItem.store(0, ordering: .sequentiallyConsistent)
            finishedItems.store(0, ordering: .sequentiallyConsistent)
            generation.add(1, ordering: .sequentiallyConsistent)  // open (odd)
            let sleeping = sleepers.exchange(0, ordering: .sequentiallyConsistent)
            for _ in 0..<sleeping { wake.signal() }

            runItems()
            var spins = 0
            while finishedItems.load(ordering: .sequentiallyConsistent) < count {
                spins += 1
                if spins > 1 << 16 { sched_yield() }  // a worker was preempted: let it run
            }
            generation.add(1, ordering: .sequentiallyConsistent)  // closed (even)
            while attached.load(ordering: .sequentiallyConsistent) > 0 { sched_yield() }
            self.body = nil
        }
        return true
    }

    /// Takes items until none are left. Kept out of line so a worker's copy of `body` is released before
    /// it detaches.
    @inline(never)
    private func runItems() {
        guard let body else { return }
        let count = itemCount
        while true {
            let i = nextItem.wrappingAdd(1, ordering: .sequentiallyConsistent).oldValue
            if i >= count { return }
            body(i)
            finishedItems.add(1, ordering: .sequentiallyConsistent)
        }
    }

    private func workerLoop() {
        var served = 0
        let clock = ContinuousClock()
        while true {
            var g = generation.load(ordering: .sequentiallyConsistent)
            if g & 1 == 0 || g == served {
                var deadline = clock.now + WorkerPool.spinLimit
                var polls = 0
                while g & 1 == 0 || g == served {
                    polls += 1
                    if polls & 255 == 0 && clock.now > deadline {
                        sleep(served: served)
                        deadline = clock.now + WorkerPool.spinLimit
                    }
                    g = generation.load(ordering: .sequentiallyConsistent)
                }
            }
            served = g
            attached.add(1, ordering: .sequentiallyConsistent)
            // The caller may have closed the region between our two loads; then `body` is not ours to read.
            if generation.load(ordering: .sequentiallyConsistent) == g { runItems() }
            attached.subtract(1, ordering: .sequentiallyConsistent)
        }
    }

    /// Sleeps until the next region opens. The caller counts sleepers after opening a region and signals
    /// that many times; a worker that sees the region open after announcing itself takes its count back,
    /// or, when the caller already took it, consumes the signal meant for it.
    private func sleep(served: Int) {
        sleepers.add(1, ordering: .sequentiallyConsistent)
        let g = generation.load(ordering: .sequentiallyConsistent)
        guard g & 1 == 0 || g == served else {
            var current = sleepers.load(ordering: .sequentiallyConsistent)
            while current > 0 {
                let (exchanged, original) = sleepers.compareExchange(expected: current, desired: current - 1,
                                                                     ordering: .sequentiallyConsistent)
                if exchanged { return }
                current = original
            }
            wake.wait()
            return
        }
        wake.wait()
    }
}
