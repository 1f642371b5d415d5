import ArgumentParser

/// The `peft` command-line tool: parses and validates, then calls the library.
@main
struct Peft: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peft",
        abstract: "Parameter-efficient fine-tuning on the CPU: inspect models, embed text, and more.",
        subcommands: [Analyze.self, Embed.self, Estimate.self, Inspect.self]
    )
}
