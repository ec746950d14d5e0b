import Foundation
import Testing
@testable import DyServe

/// The README and `docs/` name configuration keys and command-line flags; each must exist, so the
/// documentation cannot drift from the code unnoticed.
@Suite struct DocumentedNamesTests {
    static let subcommands = ["serve", "run", "inspect", "bench", "bench-json"]

    static func documents() throws -> [(name: String, text: String)] {
        let root = DyserveBinary.packageRoot
        let docs = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("docs").path)
            .filter { $0.hasSuffix(".md") }.sorted().map { "docs/\($0)" }
        return try (["README.md"] + docs).map { name in
            (name, try String(contentsOf: root.appendingPathComponent(name), encoding: .utf8))
        }
    }

    /// `section.key` spellings of the configuration's sections, e.g. `scheduler.max_batch_size`.
    @Test func everyNamedConfigKeyExists() throws {
        let known = Set(ConfigKeys.all.map(\.path))
        let sections = ConfigKeys.sections.joined(separator: "|")
        let pattern = try Regex("\\b(?:\(sections))\\.[a-z0-9_]+\\b")
        var unknown: [String] = []
        var named = 0
        for document in try Self.documents() {
            let text = document.text
            for match in text.matches(of: pattern) {
                // Part of a longer dotted name (a host such as `dyserve.models.example.com`) or a file
                // path (`docs/auth.md`) is not a key.
                if match.range.lowerBound > text.startIndex, ".".contains(text[text.index(before: match.range.lowerBound)])
                    || "/".contains(text[text.index(before: match.range.lowerBound)]) { continue }
                if match.range.upperBound < text.endIndex, text[match.range.upperBound] == ".",
                   text.index(after: match.range.upperBound) < text.endIndex,
                   text[text.index(after: match.range.upperBound)].isLetter { continue }
                let key = String(text[match.range])
                named += 1
                if !known.contains(key) { unknown.append("\(document.name): \(key)") }
            }
        }
        #expect(named > 10, "found only \(named) key names; has the pattern gone stale?")
        #expect(unknown.isEmpty, "unknown configuration keys: \(unknown)")
    }

    /// Flags that follow `dyserve <subcommand>`: on its line in a code block, or up to the closing
    /// backtick in prose (`dyserve bench --model M [--batch B]`), against the subcommand's `--help`.
    @Test func everyNamedFlagExists() throws {
        var flags: [String: Set<String>] = [:]
        for subcommand in Self.subcommands {
            let help = try DyserveBinary.run([subcommand, "--help"])
            #expect(help.status == 0, "\(subcommand) --help: \(help.stderr)")
            flags[subcommand] = Set((help.stdout + help.stderr).matches(of: /--[a-z0-9][a-z0-9-]*/).map { String($0.output) })
            #expect(flags[subcommand]?.contains("--help") == true)
        }
        var unknown: [String] = []
        var named = 0
        for document in try Self.documents() {
            for (subcommand, rest) in Self.invocations(in: document.text) {
                for flag in rest.matches(of: /--[a-z0-9][a-z0-9-]*/).map({ String($0.output) }) {
                    named += 1
                    if flags[subcommand]?.contains(flag) != true { unknown.append("\(document.name): dyserve \(subcommand) \(flag)") }
                }
            }
        }
        #expect(named > 10, "found only \(named) flags; has the pattern gone stale?")
        #expect(unknown.isEmpty, "flags the binary does not take: \(unknown)")
    }

    /// Each `dyserve <subcommand>` in `text` with what follows it: the rest of the line inside a
    /// fenced code block, else the rest of the inline code span.
    static func invocations(in text: String) -> [(subcommand: String, rest: Substring)] {
        var found: [(String, Substring)] = []
        var inFence = false
        var prose = ""
        func scanProse() {
            for match in prose.matches(of: /dyserve (serve|run|inspect|bench-json|bench)(?![\w-])([^`]*)/) {
                found.append((String(match.output.1), match.output.2))
            }
            prose = ""
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.trimmingCharacters(in: .whitespaces).hasPrefix("```") {
                if !inFence { scanProse() }
                inFence.toggle()
                continue
            }
            if inFence {
                for match in line.matches(of: /dyserve (serve|run|inspect|bench-json|bench)(?![\w-])(.*)/) {
                    found.append((String(match.output.1), match.output.2))
                }
            } else {
                prose += line + "\n"
            }
        }
        scanProse()
        return found
    }
}
