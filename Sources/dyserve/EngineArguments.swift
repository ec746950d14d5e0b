import ArgumentParser
import DyNN

// The engine choices, spelled on the command line as their raw values (`--backend fast`, `--experts fp16`).
extension Backend: ExpressibleByArgument {}
extension ExpertPrecision: ExpressibleByArgument {}
