/// A zero-filled, 64-byte aligned block of memory owned by the fast backend (activations, kernels,
/// scratchpads, expert banks). Never resized: plans size buffers once and reuse them.
final class AlignedBuffer: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer
    let byteCount: Int

    init(byteCount: Int) {
        self.byteCount = max(byteCount, 64)
        raw = UnsafeMutableRawPointer.allocate(byteCount: self.byteCount, alignment: 64)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: self.byteCount)
    }

    convenience init(floats: Int) {
        self.init(byteCount: floats * MemoryLayout<Float>.stride)
    }

    var floats: UnsafeMutablePointer<Float> { raw.assumingMemoryBound(to: Float.self) }
    var floatCount: Int { byteCount / MemoryLayout<Float>.stride }

    deinit { raw.deallocate() }
}
