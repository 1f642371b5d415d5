import Foundation

/// The process's peak resident memory: `VmHWM` from /proc/self/status on Linux, `ru_maxrss`
/// elsewhere. On Linux the peak can be reset, so each phase of a run can be measured alone.
///
/// ```swift
/// MemoryProbe.resetPeak()
/// train()
/// print(MemoryProbe.peakResidentBytes() ?? 0)
/// ```
public enum MemoryProbe {
    public static func peakResidentBytes() -> Int? {
        #if os(Linux)
        return statusBytes("VmHWM")
        #else
        var usage = rusage()
        guard getrusage(RUSAGE_SELF, &usage) == 0 else { return nil }
        return Int(usage.ru_maxrss)   // bytes on macOS
        #endif
    }

    /// The process's resident memory now (`VmRSS`; nil where the system does not tell).
    public static func residentBytes() -> Int? {
        #if os(Linux)
        return statusBytes("VmRSS")
        #else
        return nil
        #endif
    }

    /// A size field of /proc/self/status, in bytes.
    private static func statusBytes(_ field: String) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
            return line.split(separator: " ").compactMap { Int($0) }.first.map { $0 * 1024 }
        }
        return nil
    }

    /// Resets the peak to the current resident size (Linux: writes 5 to /proc/self/clear_refs);
    /// returns false where the system cannot.
    @discardableResult
    public static func resetPeak() -> Bool {
        #if os(Linux)
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        return (try? handle.write(contentsOf: Data("5".utf8))) != nil
        #else
        return false
        #endif
    }
}
