import Foundation

/// Why the peak resident memory could not be read.
public enum PeakMemoryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The status text has no `VmHWM:` line (not Linux, or a kernel without it).
    case missingField
    /// The `VmHWM:` line is not `<digits> kB`.
    case malformedLine(String)
    case unreadable(path: String)

    public var description: String {
        switch self {
        case .missingField:
            return "no VmHWM line in /proc/self/status (peak resident memory is only known on Linux)"
        case .malformedLine(let line):
            return "VmHWM line is not \"<number> kB\": \(line.prefix(80))"
        case .unreadable(let path):
            return "cannot read \(path)"
        }
    }
}

/// Peak resident set size ("high water mark") of this process, as the Linux kernel reports it.
public enum PeakResidentMemory {
    /// Bytes, from the text of a `/proc/<pid>/status` file: the `VmHWM:   123456 kB` line.
    public static func parse(status text: String) throws(PeakMemoryError) -> Int {
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard line.hasPrefix("VmHWM:") else { continue }
            let fields = line.dropFirst("VmHWM:".count).split(whereSeparator: { $0 == " " || $0 == "\t" })
            // The kernel always writes kB (meaning KiB); anything else is not a file we understand.
            guard fields.count == 2, fields[1] == "kB", fields[0].allSatisfy(\.isASCII),
                  let kibibytes = Int(fields[0]), kibibytes >= 0 else {
                throw .malformedLine(String(line))
            }
            let (bytes, overflow) = kibibytes.multipliedReportingOverflow(by: 1024)
            guard !overflow else { throw .malformedLine(String(line)) }
            return bytes
        }
        throw .missingField
    }

    /// This process's peak resident memory in bytes.
    public static func current(path: String = "/proc/self/status") throws(PeakMemoryError) -> Int {
        guard let data = FileManager.default.contents(atPath: path),
              let text = String(data: data, encoding: .utf8) else {
            throw .unreadable(path: path)
        }
        return try parse(status: text)
    }
}
