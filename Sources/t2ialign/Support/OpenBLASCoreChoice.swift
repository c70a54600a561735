import Foundation
import Kernels
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Which GEMM kernels OpenBLAS runs: the CPU's best, even when the environment pins older ones.
///
/// OpenBLAS picks its kernels for the CPU when it loads, unless `OPENBLAS_CORETYPE` names a core. Some machine
/// images pin it to "Haswell" (AVX2); on an AVX-512 CPU that costs a third of t2ialign's speed (on a 2-core
/// AVX-512 EPYC, whole `bench model` steps ran 1.29–1.51× faster without the pin, docs/PERFORMANCE.md), while
/// PyTorch's MKL/oneDNN use AVX-512 regardless. So when the pin names an AVX2 core on a CPU with AVX-512, t2ialign
/// starts itself again (same arguments, same process id) with `OPENBLAS_CORETYPE=SkylakeX` and says so on stderr.
/// `T2I_BLAS_CORE=keep` keeps the environment's pin.
enum OpenBLASCoreChoice {
    /// OpenBLAS cores whose single-precision GEMM is AVX2 at best.
    static let avx2Cores: Set<String> = ["haswell", "zen", "sandybridge", "nehalem", "core2", "penryn", "bulldozer",
                                         "piledriver", "steamroller", "excavator"]
    /// What OpenBLAS's AVX-512 (SkylakeX) kernels need.
    static let avx512Flags: Set<String> = ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]
    /// The core asked for instead of an AVX2 pin (its sgemm kernel is also the one OpenBLAS's Cooperlake uses).
    static let avx512Core = "SkylakeX"
    /// `best` (default) or `keep`; validated by `EnvironmentSettings`.
    static let setting = "T2I_BLAS_CORE"
    static let settingValues = ["best", "keep"]
    /// Set for the restarted process: the pin it replaced (also stops a second restart).
    static let replacedPin = "T2I_REPLACED_OPENBLAS_CORETYPE"

    /// True when `OPENBLAS_CORETYPE` has OpenBLAS on an AVX2 core (`corename`, the one it loaded) on an AVX-512 CPU.
    static func isAVX2Pin(corename: String, cpuFlags: Set<String>, environment: [String: String]) -> Bool {
        environment["OPENBLAS_CORETYPE"] != nil && avx2Cores.contains(corename.lowercased())
            && avx512Flags.isSubset(of: cpuFlags)
    }

    /// Whether to start again with `OPENBLAS_CORETYPE=SkylakeX`: an AVX2 pin on an AVX-512 CPU, no
    /// `T2I_BLAS_CORE=keep`, and not already the restarted process.
    static func shouldReplacePin(corename: String, cpuFlags: Set<String>, environment: [String: String]) -> Bool {
        environment[setting] != "keep" && environment[replacedPin] == nil
            && isAVX2Pin(corename: corename, cpuFlags: cpuFlags, environment: environment)
    }

    /// The restarted process's one line on stderr, naming both cores and the way back; nil in any other process.
    static func replacementNote(environment: [String: String]) -> String? {
        guard let pin = environment[replacedPin] else { return nil }
        return "note: OPENBLAS_CORETYPE=\(pin) pins OpenBLAS to AVX2 kernels on this AVX-512 CPU; t2ialign runs it with "
            + "\(environment["OPENBLAS_CORETYPE"] ?? avx512Core) (\(BLAS.coreName) loaded). Set \(setting)=keep to keep your pin"
    }

    /// A note for benchmark output when the loaded kernels are an AVX2 pin on an AVX-512 CPU (kept on purpose,
    /// or the restart failed), or nil.
    static func pinnedCoreNote(corename: String = BLAS.coreName, cpuFlags: Set<String> = cpuFlags(),
                               environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        guard isAVX2Pin(corename: corename, cpuFlags: cpuFlags, environment: environment) else { return nil }
        return "note: OPENBLAS_CORETYPE=\(environment["OPENBLAS_CORETYPE"] ?? "") keeps OpenBLAS on its AVX2 \(corename) "
            + "kernels although this CPU has AVX-512 (1.3–1.5× slower steps measured, docs/PERFORMANCE.md); without "
            + "\(setting)=keep t2ialign runs OpenBLAS with \(avx512Core)"
    }

    /// True for invocations that only print help (no arguments, `help …`, `-h`, `--help`): they run no GEMM, so
    /// they are neither restarted nor given the note.
    static func isHelpRequest(_ arguments: [String]) -> Bool {
        arguments.isEmpty || arguments.first == "help" || arguments.contains("-h") || arguments.contains("--help")
    }

    /// First thing in `main`: restart with the AVX-512 core when `shouldReplacePin`, or print the restarted
    /// process's note. `execv` keeps the process id, open files and arguments; if it fails, the run goes on pinned.
    static func applyAtStartup() {
        guard !isHelpRequest(Array(CommandLine.arguments.dropFirst())) else { return }
        let environment = ProcessInfo.processInfo.environment
        if let note = replacementNote(environment: environment) {
            FileHandle.standardError.write(Data((note + "\n").utf8))
            unsetenv(replacedPin)   // children started by this run choose for themselves again
            return
        }
        guard shouldReplacePin(corename: BLAS.coreName, cpuFlags: cpuFlags(), environment: environment),
              let pin = environment["OPENBLAS_CORETYPE"] else { return }
        setenv(replacedPin, pin, 1)
        setenv("OPENBLAS_CORETYPE", avx512Core, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Only reached when execv failed: carry on with the pinned kernels.
        unsetenv(replacedPin)
        setenv("OPENBLAS_CORETYPE", pin, 1)
    }

    /// The `flags` of the first processor in /proc/cpuinfo (empty where there is none).
    static func cpuFlags(cpuinfo: String = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "") -> Set<String> {
        guard let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }
}
