import Foundation

/// Figures about this process that Prometheus users expect next to the service's own.
enum ProcessStats {
    /// Resident set size, from `/proc/self/statm` (Linux); nil where that file does not exist.
    static func residentMemoryBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count >= 2, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
