// libFuzzer target: safetensors files (`SafeTensors(bytes:)`, with the JSON header parsed by
// `JSONValue`), as the model loader reads weights.
//
// Properties: a value or `SafeTensorsError` (never a trap or hang); every entry of a parsed file
// converts (`tensor(named:)` has as many values as its shape implies); and the file written again
// from its entries' raw bytes (`SafeTensorsWriter`) parses to the same entries, metadata and bits.
import DyNN
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Fuzz.bytes(data, size)
    let file: SafeTensors
    do {
        file = try SafeTensors(bytes: bytes)
    } catch {
        return 0
    }
    var raw: [SafeTensorsWriter.RawTensor] = []
    for name in file.names {
        guard let entry = file.entries[name], let tensor = file.tensor(named: name) else {
            Fuzz.fail("entry \(name) is listed but cannot be read")
        }
        Fuzz.check(tensor.shape == entry.shape && entry.shape.reduce(1, *) == tensor.count,
                   "\(name): shape \(entry.shape) but \(tensor.count) values")
        raw.append(.init(name: name, dtype: entry.dtype.rawValue, shape: entry.shape, bytes: Array(bytes[entry.range])))
    }
    let again: SafeTensors
    do {
        again = try SafeTensors(bytes: SafeTensorsWriter.encode(raw: raw, metadata: file.metadata))
    } catch {
        Fuzz.fail("the file written again is refused: \(error)")
    }
    Fuzz.check(again.names == file.names && again.metadata == file.metadata, "names or metadata differ when written again")
    for name in file.names {
        let a = file.tensor(named: name), b = again.tensor(named: name)
        Fuzz.check(a?.shape == b?.shape && a?.data.count == b?.data.count && Fuzz.sameBits(a?.data ?? [], b?.data ?? []),
                   "\(name) differs when written again")
        Fuzz.check(file.entries[name]?.dtype == again.entries[name]?.dtype, "\(name) changes dtype when written again")
    }
    return 0
}
