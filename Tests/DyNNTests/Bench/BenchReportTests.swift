import Foundation
import Testing
import DyNN

@Suite struct BenchReportTests {
    private func report(peak: Int? = 3 * 1_048_576) throws -> BenchReport {
        let stats = try #require(LatencyStatistics([2, 4, 6, 8]))
        return BenchReport(model: "m", backend: "reference", experts: nil, batch: 2, threads: 1, warmup: 1,
                           macsPerSample: 1_000_000, parameters: 262_144, latencyMs: stats, peakRssBytes: peak)
    }

    @Test func derivedFiguresComeFromTheMedian() throws {
        let r = try report()
        #expect(r.medianMs == 5)
        #expect(r.p90Ms == 8)
        // 2 samples in 5 ms.
        #expect(abs(r.samplesPerS - 400) < 1e-9)
        // 2 FLOPs * 1e6 MACs * 2 samples / 5 ms = 0.8 GFLOP/s.
        #expect(abs(r.gflops - 0.8) < 1e-12)
        #expect(r.peakRssMib == 3)
        #expect(r.weightsFp32Mib == 1)
    }

    @Test func jsonHasTheDocumentedKeysAlways() throws {
        for peak in [3 * 1_048_576, nil] {
            let data = try JSONEncoder().encode(try report(peak: peak))
            let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            for key in ["median_ms", "p90_ms", "gflops", "samples_per_s", "peak_rss_mib", "backend", "batch",
                        "threads", "model", "iterations", "warmup", "experts", "macs_per_sample", "profile",
                        "parameters", "weights_fp32_mib"] {
                #expect(object[key] != nil, "missing \(key)")
            }
            #expect(object["backend"] as? String == "reference")
            #expect((object["median_ms"] as? NSNumber)?.doubleValue == 5)
        }
    }

    @Test func roundTrips() throws {
        let r = try report()
        #expect(try JSONDecoder().decode(BenchReport.self, from: JSONEncoder().encode(r)) == r)
    }
}
