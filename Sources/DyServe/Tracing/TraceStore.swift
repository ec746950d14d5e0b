import Foundation

/// Bounds of the trace store.
public struct TraceStoreLimits: Sendable, Equatable {
    /// Most records kept; 0 disables the store.
    public var maxEntries: Int
    /// Most bytes kept (by `TraceRecord.estimatedBytes`).
    public var maxBytes: Int
    /// Largest one stored record may be; a larger one keeps only its first samples
    /// (`TraceRecord.keepingFirstSamples`).
    public var maxRecordBytes: Int

    public init(maxEntries: Int = 1000, maxBytes: Int = 64 << 20, maxRecordBytes: Int = 4 << 20) {
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
        self.maxRecordBytes = maxRecordBytes
    }
}

/// Recent requests' traces, bounded by count and bytes; the oldest go first. Thread-safe.
///
/// A FIFO of ids plus a dictionary: insertion and eviction are O(1) amortised, lookups O(1).
/// A record larger than `maxRecordBytes` is stored for as many of its first samples as fit (the
/// record says so), so that no single request can fill the store or make `/attention?id=` build
/// a huge answer. A record larger than the whole byte budget is not stored at all (it would evict
/// everything and then itself).
public final class TraceStore: @unchecked Sendable {
    public let limits: TraceStoreLimits

    private struct Stored {
        var record: TraceRecord
        var bytes: Int
        /// Insertion number: a slot in `order` whose number differs is stale (its id was re-inserted).
        var sequence: Int
    }

    /// Per-model occupancy, for metrics.
    public struct Usage: Sendable, Equatable {
        public var entries = 0
        public var bytes = 0
    }

    private let lock = NSLock()
    private var records: [String: Stored] = [:]
    private var order: [(id: String, sequence: Int)] = []
    private var nextSequence = 0
    private var head = 0
    private var totalBytes = 0
    private var usage: [String: Usage] = [:]

    public init(limits: TraceStoreLimits) {
        self.limits = limits
    }

    /// Stores `record`, evicting the oldest until both bounds hold. Returns whether it was kept.
    @discardableResult
    public func insert(_ record: TraceRecord) -> Bool {
        var record = record
        var bytes = record.estimatedBytes
        if bytes > limits.maxRecordBytes {
            record = record.keepingFirstSamples(within: limits.maxRecordBytes)
            bytes = record.estimatedBytes
        }
        guard limits.maxEntries > 0, bytes <= limits.maxBytes else { return false }
        lock.lock()
        defer { lock.unlock() }
        if records[record.id] != nil { remove(record.id) }
        while records.count >= limits.maxEntries || totalBytes + bytes > limits.maxBytes {
            guard evictOldest() else { break }
        }
        records[record.id] = Stored(record: record, bytes: bytes, sequence: nextSequence)
        order.append((record.id, nextSequence))
        nextSequence += 1
        totalBytes += bytes
        usage[record.model, default: Usage()].entries += 1
        usage[record.model, default: Usage()].bytes += bytes
        return true
    }

    public func record(id: String) -> TraceRecord? {
        lock.withLock { records[id]?.record }
    }

    /// The most recent records, newest first.
    public func recent(limit: Int) -> [TraceRecord] {
        lock.withLock {
            var result: [TraceRecord] = []
            var i = order.count - 1
            while i >= head && result.count < limit {
                if let stored = live(order[i]) { result.append(stored.record) }
                i -= 1
            }
            return result
        }
    }

    public var count: Int { lock.withLock { records.count } }
    public var bytes: Int { lock.withLock { totalBytes } }

    public func usage(model: String) -> Usage {
        lock.withLock { usage[model] ?? Usage() }
    }

    /// Drops the oldest record still present; false when the store is empty.
    private func evictOldest() -> Bool {
        while head < order.count {
            let slot = order[head]
            head += 1
            if live(slot) != nil {
                remove(slot.id)
                compactOrder()
                return true
            }
        }
        compactOrder()
        return false
    }

    private func live(_ slot: (id: String, sequence: Int)) -> Stored? {
        guard let stored = records[slot.id], stored.sequence == slot.sequence else { return nil }
        return stored
    }

    /// Removes `id` from the dictionary and the totals; its slot in `order` is skipped later.
    private func remove(_ id: String) {
        guard let stored = records.removeValue(forKey: id) else { return }
        totalBytes -= stored.bytes
        usage[stored.record.model]?.entries -= 1
        usage[stored.record.model]?.bytes -= stored.bytes
    }

    private func compactOrder() {
        if head > 1024 && head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }
}
