/// A parsed safetensors file: an 8-byte little-endian header length, a JSON header mapping tensor
/// names to `{"dtype", "shape", "data_offsets": [begin, end]}` (plus optional `__metadata__`), then
/// the raw little-endian data. Everything is validated when parsing, so `tensor(named:)` cannot fail
/// on a file that parsed.
public struct SafeTensors: Sendable {
    public enum DType: String, Sendable, CaseIterable {
        case f32 = "F32"
        case f16 = "F16"
        case bf16 = "BF16"

        public var byteSize: Int { self == .f32 ? 4 : 2 }
    }

    public struct Entry: Sendable, Equatable {
        public var dtype: DType
        public var shape: [Int]
        /// Absolute byte range within the file.
        public var range: Range<Int>
    }

    /// Headers beyond this are refused before any JSON parsing (the reference implementation uses the same bound).
    public static let maximumHeaderLength = 100_000_000

    public let entries: [String: Entry]
    public let metadata: [String: String]
    private let bytes: [UInt8]

    public var names: [String] { entries.keys.sorted() }

    public init(bytes: [UInt8]) throws(SafeTensorsError) {
        guard bytes.count >= 8 else { throw .tooShort(fileSize: bytes.count) }
        let declared = LittleEndian.uint64(bytes, at: 0)
        guard declared <= UInt64(Self.maximumHeaderLength), 8 + Int(declared) <= bytes.count else {
            throw .headerLength(declared: declared, fileSize: bytes.count)
        }
        let headerEnd = 8 + Int(declared)
        let header: JSONValue
        switch JSONValue.parse(bytes[8..<headerEnd]) {
        case .success(let value): header = value
        case .failure(let failure): throw .headerJSON(failure.message)
        }
        guard case .object(let fields) = header else { throw .headerJSON("the header is not a JSON object") }

        let dataSize = bytes.count - headerEnd
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in fields {
            if name == "__metadata__" {
                metadata = try Self.parseMetadata(value)
                continue
            }
            entries[name] = try Self.parseEntry(name: name, value, dataStart: headerEnd, dataSize: dataSize)
        }
        // Non-overlapping: sorted by start, each must end before the next begins. Empty tensors overlap nothing.
        let sorted = entries.filter { !$0.value.range.isEmpty }.sorted {
            ($0.value.range.lowerBound, $0.key) < ($1.value.range.lowerBound, $1.key)
        }
        for (previous, next) in zip(sorted, sorted.dropFirst()) where previous.value.range.upperBound > next.value.range.lowerBound {
            throw .overlapping(tensor: next.key, other: previous.key)
        }
        self.entries = entries
        self.metadata = metadata
        self.bytes = bytes
    }

    private static func parseMetadata(_ value: JSONValue) throws(SafeTensorsError) -> [String: String] {
        guard case .object(let fields) = value else {
            throw .malformedEntry(tensor: "__metadata__", reason: "must be an object of strings")
        }
        var result: [String: String] = [:]
        for (key, item) in fields {
            guard case .string(let text) = item else {
                throw .malformedEntry(tensor: "__metadata__", reason: "value of \"\(key)\" is not a string")
            }
            result[key] = text
        }
        return result
    }

    private static func parseEntry(name: String, _ value: JSONValue, dataStart: Int, dataSize: Int) throws(SafeTensorsError) -> Entry {
        guard case .object(let fields) = value else { throw .malformedEntry(tensor: name, reason: "entry is not an object") }
        for key in fields.keys where !["dtype", "shape", "data_offsets"].contains(key) {
            throw .malformedEntry(tensor: name, reason: "unknown key \"\(key)\"")
        }
        guard case .string(let dtypeName)? = fields["dtype"] else {
            throw .malformedEntry(tensor: name, reason: "missing string \"dtype\"")
        }
        guard let dtype = DType(rawValue: dtypeName) else { throw .unsupportedDtype(tensor: name, dtype: dtypeName) }
        guard case .array(let dims)? = fields["shape"] else {
            throw .malformedEntry(tensor: name, reason: "missing array \"shape\"")
        }
        var shape: [Int] = []
        for dim in dims {
            guard let size = dim.intValue, size >= 0 else {
                throw .malformedEntry(tensor: name, reason: "shape entry \(dim.brief) is not a non-negative integer")
            }
            shape.append(size)
        }
        guard case .array(let offsets)? = fields["data_offsets"], offsets.count == 2,
              let begin = offsets[0].intValue, let end = offsets[1].intValue else {
            throw .malformedEntry(tensor: name, reason: "\"data_offsets\" must be two integers")
        }
        guard begin >= 0, begin <= end, end <= dataSize else {
            throw .offsetsOutOfRange(tensor: name, begin: begin, end: end, dataSize: dataSize)
        }
        guard let count = checkedElementCount(shape) else {
            throw .byteCount(tensor: name, expected: "more than Int.max", actual: end - begin)
        }
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow else { throw .byteCount(tensor: name, expected: "more than Int.max", actual: end - begin) }
        guard byteCount == end - begin else { throw .byteCount(tensor: name, expected: String(byteCount), actual: end - begin) }
        return Entry(dtype: dtype, shape: shape, range: (dataStart + begin)..<(dataStart + end))
    }

    /// The named tensor converted to FP32, or nil when the file has no such tensor.
    public func tensor(named name: String) -> Tensor? {
        guard let entry = entries[name] else { return nil }
        let count = entry.range.count / entry.dtype.byteSize
        var values = [Float](repeating: 0, count: count)
        let start = entry.range.lowerBound
        switch entry.dtype {
        case .f32:
            for index in 0..<count { values[index] = Float(bitPattern: LittleEndian.uint32(bytes, at: start + 4 * index)) }
        case .f16:
            for index in 0..<count { values[index] = HalfPrecision.floatFromHalf(LittleEndian.uint16(bytes, at: start + 2 * index)) }
        case .bf16:
            for index in 0..<count { values[index] = HalfPrecision.floatFromBFloat(LittleEndian.uint16(bytes, at: start + 2 * index)) }
        }
        return Tensor(shape: entry.shape, data: values)
    }
}
