import Foundation
import Kernels

/// Whether the environment keeps OpenBLAS off the AVX-512 kernels this CPU could run.
///
/// OpenBLAS picks its kernels for the CPU when it loads, unless `OPENBLAS_CORETYPE` names a core. Some machine
/// images pin it to "Haswell" (AVX2); on an AVX-512 CPU that costs t2ialign a third of its speed: on a 2-core
/// AVX-512 EPYC, where OpenBLAS 0.3.21 picks "Cooperlake" by itself, whole `bench model` steps ran 1.29–1.51×
/// faster without the pin (paired runs, docs/PERFORMANCE.md). The user's setting is respected; benchmarks say
/// what it costs.
enum OpenBLASCoreCheck {
    /// OpenBLAS cores whose single-precision GEMM is AVX2 at best.
    static let avx2Cores: Set<String> = ["haswell", "zen", "sandybridge", "nehalem", "core2", "penryn", "bulldozer",
                                         "piledriver", "steamroller", "excavator"]
    /// What OpenBLAS's AVX-512 (SkylakeX) kernels need.
    static let avx512Flags: Set<String> = ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]

    /// A note for benchmark output when `OPENBLAS_CORETYPE` pins an AVX2 core on a CPU with AVX-512, or nil.
    static func pinnedCoreNote(corename: String = BLAS.coreName, cpuFlags: Set<String> = cpuFlags(),
                               environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        guard let pinned = environment["OPENBLAS_CORETYPE"], avx2Cores.contains(corename.lowercased()),
              avx512Flags.isSubset(of: cpuFlags) else { return nil }
        return "note: OPENBLAS_CORETYPE=\(pinned) keeps OpenBLAS on its AVX2 \(corename) kernels although this CPU has "
            + "AVX-512; unset it to let OpenBLAS pick its AVX-512 kernels (1.3–1.5× faster steps measured, "
            + "docs/PERFORMANCE.md)"
    }

    /// The `flags` of the first processor in /proc/cpuinfo (empty where there is none).
    static func cpuFlags(cpuinfo: String = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "") -> Set<String> {
        guard let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }
}
