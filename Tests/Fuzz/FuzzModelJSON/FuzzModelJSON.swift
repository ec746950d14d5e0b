// libFuzzer target: `model.json` (`ModelSpec.decode`, strict keys at every level) and the checks
// the loader makes on the description (`Model.load(spec:directory:)`: names, ops, arities,
// attributes, weight roles, shape inference, outputs), with synthetic weights.
//
// Properties: decoding returns a spec or `ModelError` (never a trap or hang); a decoded spec
// encoded and decoded again is equal; loading returns a model or `ModelError`. Loading runs only
// for specs whose numbers are all small (every dimension and integer attribute at most 64), so the
// fuzzer explores the graph's structure rather than spending its time and memory drawing large
// weights, which the loader does as asked.
import DyNN
import FuzzSupport
import Foundation

/// An empty directory: a spec naming a weights file finds nothing there, which is an error to report.
private let directory: URL = {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("dyserve-fuzz-model-\(getpid())")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}()

private let largestLoaded = 64

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModelJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let spec: ModelSpec
    do {
        spec = try ModelSpec.decode(Fuzz.bytes(data, size))
    } catch {
        return 0
    }
    do {
        let again = try ModelSpec.decode(spec.encoded())
        Fuzz.check(again == spec, "the spec encoded and decoded again differs")
    } catch {
        Fuzz.fail("the spec's own encoding is refused: \(error)")
    }
    guard isSmall(spec) else { return 0 }
    do {
        _ = try Model.load(spec: spec, directory: directory)
    } catch {
        return 0
    }
    return 0
}

private func isSmall(_ spec: ModelSpec) -> Bool {
    func small(_ value: JSONValue) -> Bool {
        switch value {
        case .int(let i): return (-largestLoaded...largestLoaded).contains(i)
        case .number(let d): return abs(d) <= Double(largestLoaded)
        case .array(let items): return items.allSatisfy(small)
        case .object(let members): return members.values.allSatisfy(small)
        case .null, .bool, .string: return true
        }
    }
    return (spec.inputs + spec.outputs).allSatisfy { $0.shape.allSatisfy { (-largestLoaded...largestLoaded).contains($0) } }
        && spec.nodes.allSatisfy { $0.attrs.values.allSatisfy(small) }
}
