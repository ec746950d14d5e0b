import DyNN
import Dispatch
import Testing
@testable import DyServe

@Suite struct TraceStoreTests {
    static func record(_ id: String, model: String = "m", floats: Int = 4) -> TraceRecord {
        let pi = [[Float](repeating: 0.25, count: floats)]
        let layer = LayerTrace(name: "conv1", op: "dynamic_conv2d",
                               attention: AttentionTrace(routing: "softmax", temperature: 1, pi: pi, entropy: [1.386]))
        return TraceRecord(id: id, model: model, time: 0, temperature: nil, modelTemperature: 1,
                           level: .attention, batch: 1, topClass: nil, layers: [layer])
    }

    @Test func keepsAtMostMaxEntriesDroppingTheOldest() {
        let store = TraceStore(limits: TraceStoreLimits(maxEntries: 3, maxBytes: 1 << 30))
        for i in 0..<5 { store.insert(Self.record("r\(i)")) }
        #expect(store.count == 3)
        #expect(store.record(id: "r0") == nil && store.record(id: "r1") == nil)
        #expect(store.record(id: "r4")?.id == "r4")
        #expect(store.recent(limit: 10).map(\.id) == ["r4", "r3", "r2"])
        #expect(store.recent(limit: 2).map(\.id) == ["r4", "r3"])
    }

    @Test func keepsWithinTheByteBudget() {
        let one = Self.record("rX").estimatedBytes
        let store = TraceStore(limits: TraceStoreLimits(maxEntries: 1000, maxBytes: one * 2 + one / 2))
        for i in 0..<10 { store.insert(Self.record("r\(i)")) }
        #expect(store.count == 2)
        #expect(store.bytes <= one * 2 + one / 2)
        #expect(store.recent(limit: 10).map(\.id) == ["r9", "r8"])
    }

    @Test func aBigRecordEvictsAsManyOldOnesAsItNeeds() {
        let one = Self.record("rX").estimatedBytes
        let big = Self.record("big", floats: 200)
        #expect(big.estimatedBytes > one)
        let store = TraceStore(limits: TraceStoreLimits(maxEntries: 1000, maxBytes: one * 2 + big.estimatedBytes))
        for i in 0..<3 { store.insert(Self.record("r\(i)")) }
        #expect(store.insert(big))
        #expect(store.recent(limit: 10).map(\.id) == ["big", "r2", "r1"])
    }

    @Test func aRecordLargerThanTheBudgetIsNotStoredAndEvictsNothing() {
        let store = TraceStore(limits: TraceStoreLimits(maxEntries: 10, maxBytes: 2000))
        store.insert(Self.record("small"))
        #expect(!store.insert(Self.record("huge", floats: 10_000)))
        #expect(store.record(id: "huge") == nil)
        #expect(store.record(id: "small") != nil)
    }

    @Test func disabledStoreKeepsNothing() {
        let store = TraceStore(limits: TraceStoreLimits(maxEntries: 0, maxBytes: 1 << 20))
        #expect(!store.insert(Self.record("a")))
        #expect(store.count == 0 && store.recent(limit: 5).isEmpty)
    }

    @Test func reinsertingAnIdReplacesItWithoutDuplicates() {
        let store = TraceStore(limits: TraceStoreLimits(maxEntries: 2, maxBytes: 1 << 20))
        store.insert(Self.record("a"))
        store.insert(Self.record("b"))
        store.insert(Self.record("a", floats: 8))
        #expect(store.recent(limit: 10).map(\.id) == ["a", "b"])
        store.insert(Self.record("c"))
        // "b" is now the oldest live entry; "a"'s stale first slot must not evict the new "a".
        #expect(store.recent(limit: 10).map(\.id) == ["c", "a"])
        #expect(store.record(id: "a")?.layers.first?.attention?.pi.first?.count == 8)
    }

    @Test func usageIsTrackedPerModel() {
        let store = TraceStore(limits: TraceStoreLimits(maxEntries: 3, maxBytes: 1 << 20))
        store.insert(Self.record("1", model: "a"))
        store.insert(Self.record("2", model: "b"))
        store.insert(Self.record("3", model: "a"))
        store.insert(Self.record("4", model: "b"))
        #expect(store.usage(model: "a").entries == 1)
        #expect(store.usage(model: "b").entries == 2)
        #expect(store.usage(model: "a").bytes + store.usage(model: "b").bytes == store.bytes)
    }

    @Test func concurrentInsertsKeepTheBounds() {
        let store = TraceStore(limits: TraceStoreLimits(maxEntries: 50, maxBytes: 1 << 30))
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            for i in 0..<500 {
                store.insert(Self.record("t\(t)-\(i)"))
                _ = store.recent(limit: 5)
            }
        }
        #expect(store.count == 50)
        #expect(store.recent(limit: 100).count == 50)
        #expect(store.bytes == store.recent(limit: 100).reduce(0) { $0 + $1.estimatedBytes })
    }
}
