import Foundation

/// This process's figures as the kernel reports them (Linux `/proc`); each reader returns nil
/// where its source does not exist, and the metric is then left out rather than reported as 0.
enum ProcessStats {
    /// Resident set size: `/proc/self/statm`'s second field, in pages.
    static func residentMemoryBytes() -> Int? {
        statm(field: 1).map { $0 * pageSize }
    }

    /// Virtual memory size: `/proc/self/statm`'s first field, in pages.
    static func virtualMemoryBytes() -> Int? {
        statm(field: 0).map { $0 * pageSize }
    }

    /// User plus system CPU time: `/proc/self/stat`'s utime and stime, in clock ticks.
    static func cpuSeconds() -> Double? {
        guard let fields = statFields(), let user = Double(fields[utimeIndex]), let system = Double(fields[stimeIndex])
        else { return nil }
        return (user + system) / clockTicksPerSecond
    }

    /// Start of the process, in seconds since the Unix epoch: the boot time from `/proc/stat`
    /// (`btime`) plus `/proc/self/stat`'s starttime, in clock ticks since boot.
    static func startTimeSeconds() -> Double? {
        guard let fields = statFields(), let ticks = Double(fields[starttimeIndex]),
              let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
              let boot = Double(line.dropFirst("btime ".count))
        else { return nil }
        return boot + ticks / clockTicksPerSecond
    }

    /// Open file descriptors: the entries of `/proc/self/fd`, less the one the listing itself holds.
    static func openFileDescriptors() -> Int? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return nil }
        return max(entries.count - 1, 0)
    }

    /// The soft limit on open file descriptors (`RLIMIT_NOFILE`); nil when unlimited.
    static func maxFileDescriptors() -> Int? {
        var limit = rlimit()
        #if os(Linux)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        let unlimited = rlim_t.max  // RLIM_INFINITY, which Swift does not import on Linux
        #else
        let resource = RLIMIT_NOFILE
        let unlimited = RLIM_INFINITY
        #endif
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur != unlimited else { return nil }
        return Int(clamping: limit.rlim_cur)
    }

    private static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
    private static let clockTicksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    // Indices into the fields after the command name of /proc/self/stat, whose first field is the
    // state (field 3 in proc(5)'s numbering): utime is field 14, stime 15, starttime 22.
    private static let utimeIndex = 11
    private static let stimeIndex = 12
    private static let starttimeIndex = 19

    private static func statm(field: Int) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > field else { return nil }
        return Int(fields[field])
    }

    /// The fields of `/proc/self/stat` after the command name, which is in parentheses and may
    /// itself hold spaces and parentheses, so the split starts after the last `)`.
    private static func statFields() -> [Substring]? {
        guard let text = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        return fields.count > starttimeIndex ? fields : nil
    }
}
