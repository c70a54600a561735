import Foundation

/// The environment variables t2ialign reads (`Threading.cores`, `ConvolutionPlan.winogradOverride`,
/// `BufferPool.usesHugePages`, `OpenBLASCoreChoice`), checked
/// once at start-up: the kernels fall back to their defaults on values they cannot use, which would make a
/// typo silently change a benchmark.
enum EnvironmentSettings {
    /// One message per unusable variable, naming it, its value and what to set instead.
    static func problems(in environment: [String: String]) -> [String] {
        var problems: [String] = []
        if let threads = environment["T2I_THREADS"], (Int(threads) ?? 0) < 1 {
            problems.append("T2I_THREADS='\(threads)' is not a positive integer; set a core count such as 2, or unset it to use every core")
        }
        if let winograd = environment["T2I_WINOGRAD"], !["0", "1", "2", "4"].contains(winograd) {
            problems.append("T2I_WINOGRAD='\(winograd)' must be 0 (im2col convolutions), 1 (Winograd wherever it applies), 2 or 4 (Winograd with F(2×2, 3×3) or F(4×4, 3×3) tiles for the forward pass and input gradient); unset it to choose by shape")
        }
        if let hugePages = environment["T2I_HUGEPAGES"], !["0", "1"].contains(hugePages) {
            problems.append("T2I_HUGEPAGES='\(hugePages)' must be 0 (4 KB pages only) or 1 (transparent huge pages for buffers of 2 MB or more, the default); unset it for the default")
        }
        if let core = environment[OpenBLASCoreChoice.setting], !OpenBLASCoreChoice.settingValues.contains(core) {
            problems.append("\(OpenBLASCoreChoice.setting)='\(core)' must be best (AVX-512 GEMM kernels on a CPU that has them, even when OPENBLAS_CORETYPE pins AVX2 ones; the default) or keep (OpenBLAS's kernels as OPENBLAS_CORETYPE says); unset it for the default")
        }
        return problems
    }

    static func problemsInThisProcess() -> [String] { problems(in: ProcessInfo.processInfo.environment) }
}
