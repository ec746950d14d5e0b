import Foundation

/// Writes safetensors files: tests build model directories with it, and tools can export with it.
public enum SafeTensorsWriter {
    /// One tensor's raw encoded bytes (already little-endian in `dtype`).
    public struct RawTensor: Sendable {
        public var name: String
        public var dtype: String
        public var shape: [Int]
        public var bytes: [UInt8]
        public init(name: String, dtype: String, shape: [Int], bytes: [UInt8]) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.bytes = bytes
        }
    }

    /// FP32 tensors, laid out in the order given.
    public static func encode(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:]) -> [UInt8] {
        encode(raw: tensors.map { item in
            var bytes: [UInt8] = []
            bytes.reserveCapacity(item.tensor.count * 4)
            for value in item.tensor.data { LittleEndian.append(value.bitPattern, to: &bytes) }
            return RawTensor(name: item.name, dtype: "F32", shape: item.tensor.shape, bytes: bytes)
        }, metadata: metadata)
    }

    /// Tensors in any dtype string, so tests can also write what the reader must refuse.
    public static func encode(raw tensors: [RawTensor], metadata: [String: String] = [:]) -> [UInt8] {
        var header: [String: JSONValue] = [:]
        var offset = 0
        for tensor in tensors {
            header[tensor.name] = .object([
                "dtype": .string(tensor.dtype),
                "shape": .array(tensor.shape.map { .int($0) }),
                "data_offsets": .array([.int(offset), .int(offset + tensor.bytes.count)]),
            ])
            offset += tensor.bytes.count
        }
        if !metadata.isEmpty { header["__metadata__"] = .object(metadata.mapValues { .string($0) }) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding a JSONValue tree of strings and integers cannot fail.
        var json = (try? encoder.encode(JSONValue.object(header))).map { [UInt8]($0) } ?? Array("{}".utf8)
        // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
        while json.count % 8 != 0 { json.append(0x20) }
        var bytes: [UInt8] = []
        LittleEndian.append(UInt64(json.count), to: &bytes)
        bytes += json
        for tensor in tensors { bytes += tensor.bytes }
        return bytes
    }
}
