// libFuzzer target: `.npy` files (`Npy.read`, the header dictionary parser `NpyHeader`), and the
// `/infer` route's use of them (`BinaryInferRequestDecoder.decodeNpy`, which checks the element
// limit on the header before converting).
//
// Properties: a value or the parser's error (never a trap or hang; the route's decoder never a
// 500); the element count the header announces is the count read; a tensor read, written with
// `Npy.write` and read again keeps its shape and bits; the route refuses more than its limit.
import DyNN
@testable import DyServe
import FuzzSupport

private let maxElements = 4096
private let route = BinaryInferRequestDecoder(maxElements: maxElements, readNpy: { try Npy.read($0) })

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNpy(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Fuzz.bytes(data, size)
    do {
        let tensor = try route.decodeNpy(bytes)
        Fuzz.check(tensor.count <= maxElements, "the route accepted \(tensor.count) values, over its limit")
    } catch {
        Fuzz.checkClientError(error, parser: "decodeNpy")
    }
    let tensor: Tensor
    do {
        tensor = try Npy.read(bytes)
    } catch {
        return 0
    }
    Fuzz.check(tensor.shape.reduce(1, *) == tensor.count, "shape \(tensor.shape) but \(tensor.count) values")
    Fuzz.check((try? Npy.announcedElementCount(bytes)) == tensor.count, "announced count differs from \(tensor.count)")
    do {
        let again = try Npy.read(Npy.write(tensor))
        Fuzz.check(again.shape == tensor.shape && Fuzz.sameBits(again.data, tensor.data),
                   "written and read again, \(tensor.shape) comes back as \(again.shape) or other bits")
    } catch {
        Fuzz.fail("Npy.write's output for \(tensor.shape) is refused: \(error)")
    }
    return 0
}
