import Foundation
import Testing
@testable import DyNN

/// The weights file stays inside the model directory, whatever symlinks or paths say.
@Suite struct WeightsConfinementTests {
    @Test func aSymlinkOutOfTheModelDirectoryIsRefusedWithoutReadingIt() throws {
        let dir = try ModelDirectory()
        try dir.write(spec: convSpec())
        try FileManager.default.createSymbolicLink(atPath: dir.url.appendingPathComponent("weights.safetensors").path,
                                                   withDestinationPath: "/etc/passwd")
        let error = try #require(modelError { try Model.load(from: dir.url) })
        let message = "\(error)"
        #expect(message.contains("outside"), "\(message)")
        // Nothing of the file: not its first bytes as a number, not its path's contents.
        let passwd = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "/etc/passwd")))
        let firstEight = passwd.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        #expect(!message.contains("\(firstEight)"))
        #expect(!message.contains("root:"))
    }

    @Test func aSymlinkInsideTheModelDirectoryIsFollowed() throws {
        let dir = try ModelDirectory()
        try dir.write(spec: convSpec())
        try dir.write("real.safetensors", SafeTensorsWriter.encode(convWeights))
        try FileManager.default.createSymbolicLink(atPath: dir.url.appendingPathComponent("weights.safetensors").path,
                                                   withDestinationPath: "real.safetensors")
        #expect(try Model.load(from: dir.url).spec.name == "tiny")
    }

    @Test func aDirectoryOrMissingFileGetsAClearMessage() throws {
        let dir = try ModelDirectory()
        var spec = convSpec()
        spec.weights = .file(".")
        try dir.write(spec: spec)
        let dot = "\(try #require(modelError { try Model.load(from: dir.url) }))"
        #expect(dot.contains("is a directory, not a safetensors file"), "\(dot)")
        #expect(!dot.contains("NSCocoaErrorDomain"))
        spec.weights = .file("missing.safetensors")
        try dir.write(spec: spec)
        let missing = "\(try #require(modelError { try Model.load(from: dir.url) }))"
        #expect(missing.contains("no such file"), "\(missing)")
    }

    @Test func validJSONWithAnOutOfRangeValueIsNotCalledMalformed() throws {
        let dir = try ModelDirectory()
        let json = String(decoding: SyntheticWeightsTests.spec(seed: 1).encoded(), as: UTF8.self)
            .replacingOccurrences(of: "\"seed\" : 1", with: "\"seed\" : -1")
        #expect(json.contains("-1"))
        try dir.write(json: json)
        let message = "\(try #require(modelError { try Model.load(from: dir.url) }))"
        #expect(message.contains("well-formed but a number does not fit its field"), "\(message)")
        #expect(!message.contains("malformed JSON") && !message.contains("not valid JSON"))
    }
}
