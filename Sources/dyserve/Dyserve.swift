import ArgumentParser

@main
struct Dyserve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dyserve",
        abstract: "Serve, run and inspect dynamic-convolution / DY-ReLU networks.",
        subcommands: [ServeCommand.self, RunCommand.self, InspectCommand.self, BenchCommand.self, BenchJSONCommand.self]
    )
}
