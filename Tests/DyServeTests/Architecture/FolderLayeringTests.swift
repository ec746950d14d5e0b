import Foundation
import Testing

/// Holds the direction of `Sources/DyServe`'s folders (docs/architecture.md): a folder may use
/// the types of folders on lower layers only, never one on its own layer or above. A type belongs
/// to the folder that declares it at the top level of a file; helpers declared in extensions of
/// standard-library types (`Substring.strippingBlanks`) belong to their folder too.
///
/// The folders share one SwiftPM target, so the compiler does not hold the direction; this test
/// does, by reading the sources. It sees names, not semantics: a name used in a comment or string
/// does not count, a local variable named like a type of a higher folder would.
@Suite struct FolderLayeringTests {
    /// Layer of each folder, lowest first. Folders on one layer must not use each other.
    static let layers: [String: Int] = [
        "Config": 0,        // settings and their parsing: knows nothing else of the service
        "HTTP": 1,          // the server, requests and responses, the one JSON error writer
        "Vocabulary": 2,    // what every layer above speaks: RequestError, jobs, executors, models
        "Tracing": 3,       // stored attention traces
        "Auth": 3,          // API keys: loading, matching in constant time, the gate
        "Metrics": 4,       // Prometheus instruments and the V2 statistics
        "Registry": 5,      // loaded models, the model repository
        "Scheduling": 5,    // executors: queues, batching, deadlines
        "Codecs": 6,        // JSON and binary request decoding, response encoding
        "Explorer": 6,      // the attention explorer's static page
        "OpenAPI": 6,       // the served OpenAPI contract
        "Pipeline": 7,      // the one inference path shared by both protocols, the service context
        "V2": 8,            // the Open Inference Protocol
        "API": 9,           // the simple API and the front door (`APIHandler`) that also dispatches to V2
    ]

    static let sources = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/DyServe")

    @Test func everyFolderHasALayer() throws {
        let folders = try FileManager.default.contentsOfDirectory(atPath: Self.sources.path)
            .filter { var dir: ObjCBool = false; return FileManager.default.fileExists(atPath: Self.sources.appendingPathComponent($0).path, isDirectory: &dir) && dir.boolValue }
        #expect(Set(folders) == Set(Self.layers.keys), "give every folder of Sources/DyServe a layer in FolderLayeringTests.layers")
    }

    @Test func noFolderUsesOneOnItsLayerOrAbove() throws {
        let files = try Self.swiftFiles()
        #expect(files.count > 50, "found only \(files.count) sources under \(Self.sources.path)")
        var owner: [String: String] = [:]
        for file in files {
            for name in SwiftSource.declaredNames(file.code) { owner[name] = file.folder }
        }
        #expect(owner["RequestError"] == "Vocabulary" && owner["strippingBlanks"] == "HTTP", "the declaration scan found \(owner.count) names")
        var violations: [String] = []
        for file in files {
            guard let layer = Self.layers[file.folder] else { continue }
            for name in Set(SwiftSource.identifiers(file.code)) {
                guard let home = owner[name], home != file.folder, let homeLayer = Self.layers[home], homeLayer >= layer else {
                    continue
                }
                violations.append("\(file.folder)/\(file.name) (layer \(layer)) uses \(name) from \(home)/ (layer \(homeLayer))")
            }
        }
        #expect(violations.isEmpty, "\(violations.sorted().joined(separator: "\n"))")
    }

    @Test func theScanSeesAViolation() {
        let higher = SwiftSource.declaredNames("public struct Pipe {}\nextension Substring {\n    func trimmedHelper() {}\n}\n")
        #expect(higher == ["Pipe", "trimmedHelper"])
        let uses = Set(SwiftSource.identifiers(SwiftSource.strippingCommentsAndStrings(
            "let p = Pipe() // Other\nlet s = \"Quoted\" + #\"Raw \"\"# /* Block */\nx.trimmedHelper()")))
        #expect(uses.isSuperset(of: ["Pipe", "trimmedHelper"]) && !uses.contains("Other") && !uses.contains("Quoted"))
    }

    struct File {
        var folder: String
        var name: String
        var code: String
    }

    static func swiftFiles() throws -> [File] {
        var files: [File] = []
        for folder in try FileManager.default.contentsOfDirectory(atPath: sources.path).sorted() {
            let dir = sources.appendingPathComponent(folder)
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { continue }
            for name in names.sorted() where name.hasSuffix(".swift") {
                let text = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
                files.append(File(folder: folder, name: name, code: SwiftSource.strippingCommentsAndStrings(text)))
            }
        }
        return files
    }
}

/// Just enough of Swift's lexical structure to find declarations and the names a file uses.
enum SwiftSource {
    /// The text with comments removed and string literals emptied (raw and multi-line included).
    static func strippingCommentsAndStrings(_ text: String) -> String {
        let c = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        func at(_ k: Int, _ s: String) -> Bool {
            let p = Array(s.unicodeScalars)
            return k + p.count <= c.count && Array(c[k..<k + p.count]) == p
        }
        while i < c.count {
            if at(i, "//") {
                while i < c.count && c[i] != "\n" { i += 1 }
            } else if at(i, "/*") {
                var depth = 0
                repeat {
                    if at(i, "/*") { depth += 1; i += 2 } else if at(i, "*/") { depth -= 1; i += 2 } else { i += 1 }
                } while depth > 0 && i < c.count
            } else if c[i] == "\"" || (c[i] == "#" && (at(i, "#\"") || at(i, "##"))) {
                var hashes = 0
                while i < c.count && c[i] == "#" { hashes += 1; i += 1 }
                let multiline = at(i, "\"\"\"")
                let quote = (multiline ? "\"\"\"" : "\"") + String(repeating: "#", count: hashes)
                i += multiline ? 3 : 1
                while i < c.count && !at(i, quote) {
                    if c[i] == "\\" && hashes == 0 { i += 1 }
                    if c[i] == "\n" && !multiline { break }
                    i += 1
                }
                i += quote.unicodeScalars.count
                out.append(contentsOf: "\"\"".unicodeScalars)
            } else {
                out.append(c[i])
                i += 1
            }
        }
        return String(out)
    }

    /// Every identifier token.
    static func identifiers(_ code: String) -> [String] {
        var names: [String] = []
        var current = ""
        for ch in code.unicodeScalars {
            if ch == "_" || CharacterSet.alphanumerics.contains(ch) {
                current.unicodeScalars.append(ch)
            } else {
                if let f = current.unicodeScalars.first, !CharacterSet.decimalDigits.contains(f) { names.append(current) }
                current = ""
            }
        }
        if !current.isEmpty { names.append(current) }
        return names
    }

    static let typeKeywords: Set<String> = ["struct", "enum", "class", "protocol", "actor", "typealias"]
    static let modifiers: Set<String> = ["public", "internal", "private", "fileprivate", "final", "open", "indirect", "static", "mutating", "nonisolated"]

    /// Types declared at the top level, and members of extensions of types declared elsewhere
    /// (the standard library's), found by indentation: top level at column 0, members at 4.
    static func declaredNames(_ code: String) -> [String] {
        let lines = code.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let topLevelTypes = Set(lines.compactMap { line -> String? in
            line.first?.isWhitespace == false ? declaration(line)?.name : nil
        })
        var names: [String] = []
        var foreignExtension = false
        for line in lines {
            if line.first?.isWhitespace == false {
                let words = identifiers(line)
                foreignExtension = false
                if let decl = declaration(line), typeKeywords.contains(decl.keyword) {
                    names.append(decl.name)
                } else if let k = words.firstIndex(of: "extension"), k + 1 < words.count,
                          words[k + 1].first?.isUppercase == true, !topLevelTypes.contains(words[k + 1]) {
                    foreignExtension = isStandardType(words[k + 1])
                }
            } else if foreignExtension, line.hasPrefix("    "), !line.hasPrefix("     "),
                      let decl = declaration(line), ["func", "var", "let"].contains(decl.keyword) {
                names.append(decl.name)
            }
        }
        return names
    }

    /// Types of the standard library and Foundation that helpers get hung on.
    static func isStandardType(_ name: String) -> Bool {
        ["String", "Substring", "Array", "Collection", "Sequence", "Int", "Double", "Float", "UInt8", "Character",
         "Dictionary", "Optional", "Data", "URL", "Date", "Duration", "StringProtocol"].contains(name)
    }

    /// The keyword and name of a declaration line (`public final class Name`).
    private static func declaration(_ line: String) -> (keyword: String, name: String)? {
        var words = identifiers(line)
        // An attribute (`@MainActor`, `@usableFromInline`) is one word before the modifiers.
        if line.drop(while: { $0 == " " }).first == "@", !words.isEmpty { words.removeFirst() }
        while let first = words.first, modifiers.contains(first) { words.removeFirst() }
        guard words.count >= 2 else { return nil }
        let keyword = words[0]
        guard typeKeywords.contains(keyword) || ["func", "var", "let"].contains(keyword) else { return nil }
        return (keyword, words[1])
    }
}
