// libFuzzer target: a raw FP32 `POST /infer` body and its `X-Tensor-Shape` header
// (`BinaryInferRequestDecoder.parseShapeHeader`, `decodeRawFP32`).
//
// Input layout: the header value up to the first newline, the body after it.
//
// Properties: a value or a client error (never a 500, trap or hang); a parsed shape written back
// as "d0,d1,..." parses to the same shape; a decoded tensor has that shape, finite values within
// the element limit, and holds exactly the body's bits.
@testable import DyServe
import FuzzSupport

private let maxElements = 4096

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTensorShape(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let (header, body) = Fuzz.splitLine(Fuzz.bytes(data, size))
    let shape: [Int]
    do {
        shape = try BinaryInferRequestDecoder.parseShapeHeader(header)
    } catch {
        Fuzz.checkClientError(error, parser: "X-Tensor-Shape")
        return 0
    }
    Fuzz.check(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
    do {
        let again = try BinaryInferRequestDecoder.parseShapeHeader(shape.map(String.init).joined(separator: ","))
        Fuzz.check(again == shape, "\(shape) written back parses as \(again)")
    } catch {
        Fuzz.fail("\(shape) written back is refused: \(error)")
    }
    do {
        let tensor = try BinaryInferRequestDecoder.decodeRawFP32(body, shape: shape, maxElements: maxElements)
        Fuzz.check(tensor.shape == shape, "decoded shape \(tensor.shape) for \(shape)")
        Fuzz.check(tensor.count <= maxElements, "\(tensor.count) values, over the limit")
        Fuzz.check(tensor.data.allSatisfy(\.isFinite), "a non-finite value was accepted")
        let bits = tensor.data.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v.bitPattern >> (8 * $0)) } }
        Fuzz.check(bits == body, "the tensor does not hold the body's bytes")
    } catch {
        Fuzz.checkClientError(error, parser: "raw FP32 body")
    }
    return 0
}
