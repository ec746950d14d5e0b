import DyNN
import Testing
@testable import DyServe

@Suite struct BinaryInferRequestDecoderTests {
    struct FakeNpyError: Error, CustomStringConvertible {
        var description: String { "bad magic" }
    }

    let decoder = BinaryInferRequestDecoder(maxElements: 64) { bytes in
        // Stand-in reader: 4 bytes per float, one dimension, so this suite tests our checks only.
        guard bytes.first != 0xFF else { throw FakeNpyError() }
        return try BinaryInferRequestDecoder.decodeRawFP32(bytes, shape: [bytes.count / 4], maxElements: .max)
    }

    static func le(_ values: [Float]) -> [UInt8] {
        values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
    }

    func raw(_ body: [UInt8], shape: String?, query: [String: String] = ["model": "m"]) throws(RequestError) -> InferRequest {
        var headers = ["content-type": "application/octet-stream"]
        headers["x-tensor-shape"] = shape
        let request = HTTPRequest(method: "POST", path: "/infer", query: query, headers: headers, body: body)
        return try decoder.decode(request, format: .rawFP32)
    }

    func status(_ body: () throws(RequestError) -> Void) -> (Int, String)? {
        do {
            try body()
            return nil
        } catch {
            return (error.status, error.message)
        }
    }

    @Test func rawFP32WithShapeHeader() throws {
        let r = try raw(Self.le([1, 2, 3, -4.5]), shape: " 1, 1,2,2 ",
                        query: ["model": "m", "temperature": "2.5", "trace": "full", "return_trace": "true", "top_k": "2"])
        #expect(r.input?.shape == [1, 1, 2, 2])
        #expect(r.input?.data == [1, 2, 3, -4.5])
        #expect(r.model == "m" && r.temperature == 2.5 && r.trace == .full && r.returnTrace && r.topK == 2)
    }

    @Test(arguments: [
        (nil, "needs an X-Tensor-Shape header"),
        ("", "dimension 0 \"\" is not a non-negative integer"),
        ("1,,4", "dimension 1"),
        ("1,-4", "dimension 1 \"-4\""),
        ("1,4x", "dimension 1 \"4x\""),
        ("1,0x4", "dimension 1"),
        ("1,+4", "dimension 1"),
        ("1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1", "17 dimensions"),
        ("1,3", "X-Tensor-Shape [1, 3] needs 12 bytes of FP32; the body has 16"),
        ("1,5", "needs 20 bytes"),
    ] as [(String?, String)])
    func rejectsBadShapeHeaders(_ header: String?, _ expected: String) {
        let got = status { () throws(RequestError) in _ = try raw(Self.le([1, 2, 3, 4]), shape: header) }
        #expect(got?.0 == 400)
        #expect(got?.1.contains(expected) == true, "\(got?.1 ?? "accepted")")
    }

    @Test func dimensionsTooLargeForAnIntAre413AndSaySo() throws {
        for header in ["9223372036854775807,2", "99999999999999999999", "1,1234567890123456789012"] {
            let got = status { () throws(RequestError) in _ = try raw([], shape: header) }
            #expect(got?.0 == 413, "\(header)")
            #expect(got?.1.contains("larger than any tensor the server accepts") == true, "\(got?.1 ?? "accepted")")
            #expect(got?.1.contains("not a non-negative integer") == false)
        }
        // Leading zeros are digits like any other.
        #expect(try BinaryInferRequestDecoder.parseShapeHeader("0000000000000000000000001,4") == [1, 4])
    }

    @Test func oversizedAndOverflowingShapesAre413() {
        #expect(status { () throws(RequestError) in _ = try raw([], shape: "65") }?.0 == 413)
        #expect(status { () throws(RequestError) in _ = try raw([], shape: "999999999999999999,999999999999999999") }?.0 == 413)
    }

    @Test func truncatedBodyAndNonFiniteValuesAre400() {
        #expect(status { () throws(RequestError) in _ = try raw(Array(Self.le([1, 2, 3, 4]).dropLast()), shape: "4") }?.0 == 400)
        let nan = status { () throws(RequestError) in _ = try raw(Self.le([1, .nan]), shape: "2") }
        #expect(nan?.0 == 400)
        #expect(nan?.1.contains("input element 1") == true)
        #expect(status { () throws(RequestError) in _ = try raw(Self.le([.infinity]), shape: "1") }?.0 == 400)
    }

    /// The copying decoder keeps every bit (signed zero, subnormals, extremes) and still finds a
    /// non-finite value anywhere, the last element of a large body included.
    @Test func rawBodiesRoundTripBitExactAndLateNonFiniteIsFound() throws {
        let values: [Float] = [0, -0.0, 1, -1, .leastNonzeroMagnitude, -.leastNormalMagnitude, .greatestFiniteMagnitude, 0.1]
        let decoded = try BinaryInferRequestDecoder.decodeRawFP32(Self.le(values), shape: [values.count], maxElements: .max)
        #expect(decoded.data.map(\.bitPattern) == values.map(\.bitPattern))
        var large = [Float](repeating: 0.5, count: 150_528)
        large[large.count - 1] = -.infinity
        do {
            _ = try BinaryInferRequestDecoder.decodeRawFP32(Self.le(large), shape: [1, 3, 224, 224], maxElements: .max)
            Issue.record("a non-finite last element was accepted")
        } catch {
            #expect(error.status == 400)
            #expect(error.message.contains("input element 150527"))
        }
    }

    @Test func onlyOctetStreamBodiesCountAsRawTensors() {
        #expect(BodyDecoding.isOctetStream("application/octet-stream"))
        #expect(BodyDecoding.isOctetStream("Application/Octet-Stream; charset=binary"))
        #expect(!BodyDecoding.isOctetStream("application/json"))
        #expect(!BodyDecoding.isOctetStream(nil))
    }

    @Test(arguments: [
        ([:], "need the model in the query"),
        (["model": ""], "need the model in the query"),
        (["model": "m", "bogus": "1"], "unknown query parameter \"bogus\""),
        (["model": "m", "temperature": "warm"], "query temperature \"warm\" is not a number"),
        (["model": "m", "temperature": "nan"], "must be a finite number greater than 0"),
        (["model": "m", "trace": "all"], "query trace must be"),
        (["model": "m", "return_trace": "maybe"], "return_trace must be true or false"),
        (["model": "m", "top_k": "-3"], "top_k must be an integer from 1 to 1000000"),
    ] as [([String: String], String)])
    func rejectsBadQueries(_ query: [String: String], _ expected: String) {
        let got = status { () throws(RequestError) in _ = try raw(Self.le([1]), shape: "1", query: query) }
        #expect(got?.0 == 400)
        #expect(got?.1.contains(expected) == true, "\(got?.1 ?? "accepted")")
    }

    @Test func npyGoesThroughTheReaderAndOurChecks() throws {
        let request = HTTPRequest(method: "POST", path: "/infer", query: ["model": "m"], body: Self.le([1, 2]))
        #expect(try decoder.decode(request, format: .npy).input?.data == [1, 2])
        var bad = request
        bad.body = [0xFF, 0, 0, 0]
        let invalid = status { () throws(RequestError) in _ = try decoder.decode(bad, format: .npy) }
        #expect(invalid?.0 == 400)
        #expect(invalid?.1.contains("invalid .npy body: bad magic") == true)
        var big = request
        big.body = Self.le([Float](repeating: 1, count: 65))
        #expect(status { () throws(RequestError) in _ = try decoder.decode(big, format: .npy) }?.0 == 413)
        var nan = request
        nan.body = Self.le([1, .nan])
        #expect(status { () throws(RequestError) in _ = try decoder.decode(nan, format: .npy) }?.0 == 400)
    }
}

@Suite struct NpyLimitBeforeConversionTests {
    @Test func theElementLimitIsCheckedOnTheHeaderBeforeConverting() {
        let converted = ThreadBox()
        let decoder = BinaryInferRequestDecoder(maxElements: 10, readNpy: { bytes in
            converted.set(true)
            return try Npy.read(bytes)
        })
        let body = Npy.write(Tensor(shape: [4, 25], data: [Float](repeating: 1, count: 100)))
        do {
            _ = try decoder.decodeNpy(body)
            Issue.record("an .npy body over the element limit was accepted")
        } catch {
            #expect(error.status == 413)
            #expect(error.message.contains("100 elements, more than the limit of 10"), "\(error.message)")
        }
        #expect(converted.value == nil, "the body was converted before the limit was checked")
        // Within the limit it converts as before.
        let small = Npy.write(Tensor(shape: [2, 5], data: [Float](repeating: 2, count: 10)))
        #expect((try? decoder.decodeNpy(small))?.shape == [2, 5])
        #expect(converted.value == true)
    }
}
