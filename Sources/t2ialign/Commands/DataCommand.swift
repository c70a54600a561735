import ArgumentParser

/// `t2ialign data …`: create, import and inspect preference-pair datasets (Pick-a-Pic layout).
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Create, import and inspect preference-pair datasets (Pick-a-Pic format).",
        subcommands: [DataSynthCommand.self, DataInspectCommand.self, DataImportCommand.self]
    )
}
