import Foundation

/// A zero-filled, 64-byte aligned block of memory owned by the fast backend (activations, kernels,
/// scratchpads, expert banks). Never resized: plans size buffers once and reuse them.
///
/// Blocks of 2 MiB and more are mapped on 2 MiB boundaries and offered to the kernel for transparent
/// huge pages (`MADV_HUGEPAGE`; most distributions only give them on request). Every request streams
/// the expert banks, tens of MB, through the cache: with 4 KiB pages that is one TLB miss per 64 cache
/// lines, and a miss costs a two-level page walk inside a virtual machine. Huge pages make the
/// dynamic networks measurably faster (an alternating A/B of dy-mobilenetv2, fp32 and fp16
/// experts); resident memory grows by the rounding of each block up to whole huge pages.
final class AlignedBuffer: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer
    let byteCount: Int
    private let mappedBytes: Int

    init(byteCount: Int) {
        self.byteCount = max(byteCount, 64)
        if self.byteCount >= Self.hugePage, let mapped = Self.mapHuge(self.byteCount) {
            (raw, mappedBytes) = mapped
        } else {
            raw = UnsafeMutableRawPointer.allocate(byteCount: self.byteCount, alignment: 64)
            mappedBytes = 0
        }
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: self.byteCount)
    }

    static let hugePage = 2 << 20

    /// `bytes` rounded up to whole huge pages, mapped at a huge-page boundary (the slack of the larger
    /// mapping that guarantees the boundary is unmapped again); nil if the mapping fails.
    private static func mapHuge(_ bytes: Int) -> (UnsafeMutableRawPointer, Int)? {
        let size = (bytes + hugePage - 1) / hugePage * hugePage
        guard let base = mmap(nil, size + hugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              base != MAP_FAILED else { return nil }
        let address = Int(bitPattern: base)
        let aligned = (address + hugePage - 1) / hugePage * hugePage
        if aligned > address { munmap(base, aligned - address) }
        let tail = address + size + hugePage - (aligned + size)
        if tail > 0 { munmap(UnsafeMutableRawPointer(bitPattern: aligned + size), tail) }
        let pointer = UnsafeMutableRawPointer(bitPattern: aligned)!
        madvise(pointer, size, MADV_HUGEPAGE)
        return (pointer, size)
    }

    convenience init(floats: Int) {
        self.init(byteCount: floats * MemoryLayout<Float>.stride)
    }

    var floats: UnsafeMutablePointer<Float> { raw.assumingMemoryBound(to: Float.self) }
    var floatCount: Int { byteCount / MemoryLayout<Float>.stride }

    deinit {
        // `mappedBytes` > 0: the block came from `mapHuge`.
        if mappedBytes > 0 { munmap(raw, mappedBytes) } else { raw.deallocate() }
    }
}
