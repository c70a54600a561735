import Dispatch
import Foundation

/// Turns Ctrl-C (SIGINT) and SIGTERM into a flag that a training or evaluation loop polls between steps,
/// so it can save a checkpoint and exit cleanly instead of losing work. A second Ctrl-C exits at once.
public final class InterruptFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var raised = false
    private var sources: [DispatchSourceSignal] = []

    /// Installs the handlers (idempotent for the process: use `shared`).
    public static let shared = InterruptFlag()

    private init() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in self?.raise() }
            source.resume()
            sources.append(source)
        }
    }

    private func raise() {
        lock.lock()
        let second = raised
        raised = true
        lock.unlock()
        if second {
            FileHandle.standardError.write(Data("\ninterrupted twice: exiting without saving\n".utf8))
            exit(130)
        }
        FileHandle.standardError.write(Data("\ninterrupt received: finishing the current step and saving (Ctrl-C again to quit now)\n".utf8))
    }

    public var isRaised: Bool {
        lock.lock(); defer { lock.unlock() }
        return raised
    }
}
