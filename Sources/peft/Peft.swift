import ArgumentParser

/// The `peft` command-line tool: parses and validates, then calls the library.
@main
struct Peft: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peft",
        abstract: "Parameter-efficient fine-tuning on the CPU: inspect models, embed text, and more.",
        subcommands: [Quickstart.self, Train.self, Evaluate.self, Analyze.self, Estimate.self, Embed.self,
                      Inspect.self, Merge.self, Generate.self]
    )
}
