import DyNN
import Foundation

/// Times the hand-written JSON reader and writer against Foundation's `JSONSerialization` and
/// `JSONDecoder`/`JSONEncoder` on `/infer`-shaped bodies, so the choice between them rests on
/// figures (`dyserve bench-json`, BENCHMARKS.md). Every contender produces the same thing: the
/// body's floats as `[Float]` when decoding, a JSON document with the shape and the floats when
/// encoding.
public enum JSONCodecBenchmark {
    /// One timed contender on one body.
    public struct Result: Sendable {
        public var body: String
        public var operation: String
        public var codec: String
        /// Median over the rounds of the time per call, in microseconds.
        public var medianMicroseconds: Double
        public var minMicroseconds: Double
        public var maxMicroseconds: Double
        /// Bytes read (decode) or written (encode) per call.
        public var bytes: Int
    }

    /// Bodies of `/infer` requests in the `{"shape", "data"}` form: a 1x3x224x224 image and a
    /// dy-digits 1x1x8x8 one, filled with seeded values of the ranges such inputs have.
    public static let bodies: [(name: String, shape: [Int])] = [
        ("1x3x224x224", [1, 3, 224, 224]),
        ("dy-digits 1x1x8x8", [1, 1, 8, 8]),
    ]

    /// Runs every contender `rounds` times on each body; each round repeats a call until it has
    /// taken at least `minimumRoundSeconds` and counts the mean time per call. The contenders of a
    /// body take turns round by round, so a change in the machine's load falls on all of them.
    public static func run(rounds: Int, minimumRoundSeconds: Double) throws -> [Result] {
        var results: [Result] = []
        for (name, shape) in bodies {
            let count = shape.reduce(1, *)
            // Digits are whole pixel values 0...16; an image is normalised floats.
            let values = shape == [1, 1, 8, 8]
                ? Tensor.seededUniform(shape: shape, seed: 7, low: 0, high: 17).data.map { $0.rounded(.down) }
                : Tensor.seededUniform(shape: shape, seed: 7, low: -2, high: 2).data
            let body = requestBody(shape: shape, values: values)
            let data = Data(body)
            let decoders: [(String, () throws -> [Float])] = [
                ("JSONReader (hand-written)", {
                    let request = try JSONInferRequestDecoder(maxDepth: 64, maxElements: count).decode(body)
                    return request.input?.data ?? []
                }),
                ("JSONSerialization", { try decodeWithSerialization(data) }),
                ("JSONDecoder", { try JSONDecoder().decode(RequestBody.self, from: data).input.data }),
            ]
            var contenders: [Contender] = []
            for (codec, decode) in decoders {
                guard try decode() == values else { throw BenchmarkError("\(codec) decoded other floats than were written") }
                contenders.append(Contender(operation: "decode", codec: codec, bytes: body.count) { _ = try decode() })
            }
            let encoders: [(String, () throws -> Data)] = [
                ("JSONWriter (hand-written)", { Data(encodeWithWriter(shape: shape, values: values)) }),
                ("JSONSerialization", {
                    try JSONSerialization.data(withJSONObject: ["shape": shape, "data": values.map { NSNumber(value: $0) }])
                }),
                ("JSONEncoder", { try JSONEncoder().encode(TensorBody(shape: shape, data: values)) }),
            ]
            for (codec, encode) in encoders {
                let encoded = try encode()
                guard try JSONDecoder().decode(TensorBody.self, from: encoded).data == values else {
                    throw BenchmarkError("\(codec) wrote floats that do not read back as the same values")
                }
                contenders.append(Contender(operation: "encode", codec: codec, bytes: encoded.count) { _ = try encode() })
            }
            var perCall = [[Double]](repeating: [], count: contenders.count)
            for _ in 0..<max(rounds, 1) {
                for (index, contender) in contenders.enumerated() {
                    perCall[index].append(try meanMicroseconds(of: contender.call, minimumSeconds: minimumRoundSeconds))
                }
            }
            for (contender, times) in zip(contenders, perCall) {
                let sorted = times.sorted()
                let middle = sorted.count / 2
                let median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
                results.append(Result(body: name, operation: contender.operation, codec: contender.codec,
                                      medianMicroseconds: median, minMicroseconds: sorted[0],
                                      maxMicroseconds: sorted[sorted.count - 1], bytes: contender.bytes))
            }
        }
        return results
    }

    private struct Contender {
        var operation: String
        var codec: String
        var bytes: Int
        var call: () throws -> Void
    }

    /// Repeats `call` until `minimumSeconds` have passed; the mean time per call in microseconds.
    private static func meanMicroseconds(of call: () throws -> Void, minimumSeconds: Double) throws -> Double {
        var calls = 0
        let start = DispatchTime.now().uptimeNanoseconds
        var elapsed: UInt64 = 0
        repeat {
            try call()
            calls += 1
            elapsed = DispatchTime.now().uptimeNanoseconds - start
        } while Double(elapsed) < minimumSeconds * 1e9
        return Double(elapsed) / 1e3 / Double(calls)
    }

    struct BenchmarkError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    struct TensorBody: Codable {
        var shape: [Int]
        var data: [Float]
    }

    struct RequestBody: Codable {
        var model: String
        var input: TensorBody
    }

    static func requestBody(shape: [Int], values: [Float]) -> [UInt8] {
        var w = JSONWriter(reservingCapacity: 64 + values.count * 12)
        w.beginObject()
        w.key("model"); w.string("m")
        w.key("input")
        w.beginObject()
        w.key("shape"); w.ints(shape)
        w.key("data"); w.floats(values)
        w.endObject()
        w.endObject()
        return w.bytes
    }

    static func encodeWithWriter(shape: [Int], values: [Float]) -> [UInt8] {
        var w = JSONWriter(reservingCapacity: 64 + values.count * 12)
        w.beginObject()
        w.key("shape"); w.ints(shape)
        w.key("data"); w.floats(values)
        w.endObject()
        return w.bytes
    }

    /// What a route would have to do with `JSONSerialization`: parse into objects, then walk them.
    static func decodeWithSerialization(_ data: Data) throws -> [Float] {
        guard let top = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let input = top["input"] as? [String: Any], let numbers = input["data"] as? [Any] else {
            throw BenchmarkError("JSONSerialization: unexpected document")
        }
        var floats: [Float] = []
        floats.reserveCapacity(numbers.count)
        for number in numbers {
            guard let n = number as? NSNumber else { throw BenchmarkError("JSONSerialization: not a number") }
            floats.append(n.floatValue)
        }
        return floats
    }
}
