import ArgumentParser
#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
@preconcurrency import Darwin
#endif

/// The `t2ialign` command line: thin wrappers that parse arguments and call the libraries.
@main
struct T2IAlign: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "t2ialign",
        abstract: "Align small text-to-image diffusion models with human preferences, on a CPU.",
        discussion: """
        Pretrain a conditional U-Net denoiser, align it on Pick-a-Pic-format preference pairs with \
        Diffusion-DPO, MaPO, DCPO or personalized DPO, sample PNGs, and measure win rates.
        The embedded default data is the Shapes world: rendered images with simulated users whose \
        preferences are known exactly.
        """,
        subcommands: [TrainCommand.self, PretrainCommand.self, SampleCommand.self, EvalCommand.self, DataCommand.self,
                      ScoreCommand.self, ScorerCommand.self, UserEncoderCommand.self, ExportCommand.self, BenchCommand.self]
    )

    static func main() {
        // Line-buffer stdout so results appear as they are printed when piped to a file or `tee`
        // (progress goes to stderr, which is unbuffered).
        setvbuf(stdout, nil, _IOLBF, 0)
        let problems = EnvironmentSettings.problemsInThisProcess()
        guard problems.isEmpty else { exit(withError: ValidationFailure(problems.joined(separator: "\n"))) }
        OpenBLASCoreChoice.applyAtStartup()
        main(NegativeNumberValues.joined(Array(CommandLine.arguments.dropFirst())))
    }
}
