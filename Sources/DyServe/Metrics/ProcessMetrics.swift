import Foundation
import Prometheus

/// The standard process metrics, under the names the Prometheus client libraries' process
/// collectors use, so stock dashboards and alerts work unchanged: `process_resident_memory_bytes`,
/// `process_virtual_memory_bytes`, `process_cpu_seconds_total`, `process_start_time_seconds`,
/// `process_open_fds` and `process_max_fds`. Read from `ProcessStats` at each scrape.
final class ProcessMetrics: @unchecked Sendable {
    private let residentMemory: Gauge
    private let virtualMemory: Gauge
    private let cpuSeconds: Counter
    private let startTime: Gauge
    private let openFileDescriptors: Gauge
    private let maxFileDescriptors: Gauge
    private let lock = NSLock()
    /// CPU seconds already added to the counter: the kernel gives a running total, a Prometheus
    /// counter only grows, so each scrape adds the difference.
    private var cpuSecondsCounted = 0.0

    init(registry: PrometheusCollectorRegistry) {
        residentMemory = registry.makeGauge(name: "process_resident_memory_bytes", help: "Resident memory size in bytes.")
        virtualMemory = registry.makeGauge(name: "process_virtual_memory_bytes", help: "Virtual memory size in bytes.")
        cpuSeconds = registry.makeCounter(name: "process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.")
        startTime = registry.makeGauge(name: "process_start_time_seconds",
                                       help: "Start time of the process since unix epoch in seconds.")
        openFileDescriptors = registry.makeGauge(name: "process_open_fds", help: "Number of open file descriptors.")
        maxFileDescriptors = registry.makeGauge(name: "process_max_fds", help: "Maximum number of open file descriptors.")
        if let start = ProcessStats.startTimeSeconds() { startTime.set(start) }
    }

    /// Reads the current figures into the gauges and the CPU counter.
    func refresh() {
        if let bytes = ProcessStats.residentMemoryBytes() { residentMemory.set(Int64(bytes)) }
        if let bytes = ProcessStats.virtualMemoryBytes() { virtualMemory.set(Int64(bytes)) }
        if let count = ProcessStats.openFileDescriptors() { openFileDescriptors.set(Int64(count)) }
        if let limit = ProcessStats.maxFileDescriptors() { maxFileDescriptors.set(Int64(limit)) }
        if let total = ProcessStats.cpuSeconds() {
            lock.withLock {
                if total > cpuSecondsCounted {
                    cpuSeconds.increment(by: total - cpuSecondsCounted)
                    cpuSecondsCounted = total
                }
            }
        }
    }
}
