import Dispatch
import Foundation

/// Splits work across the machine's cores.
public enum Parallel {
    /// Threads the heavy ops use; defaults to the number of active cores.
    nonisolated(unsafe) public static var threadCount: Int = ProcessInfo.processInfo.activeProcessorCount

    /// Runs `body(index)` for every index in `0..<count`, spread over `threadCount` threads.
    /// Each call gets a disjoint index; `body` must only write what that index owns.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        if count <= 1 || threadCount <= 1 {
            for index in 0..<count { body(index) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: count) { box.value($0) }
        }
    }

    /// Splits `0..<total` into `threadCount` contiguous chunks (aligned to `granularity`) and
    /// runs them in parallel.
    public static func forEachChunk(_ total: Int, granularity: Int = 1, _ body: (Range<Int>) -> Void) {
        let units = (total + granularity - 1) / granularity
        let chunks = Swift.max(1, Swift.min(threadCount, units))
        let perChunk = (units + chunks - 1) / chunks * granularity
        forEach(chunks) { chunk in
            let start = chunk * perChunk
            let end = Swift.min(total, start + perChunk)
            if start < end { body(start..<end) }
        }
    }
}

/// Wraps a value the caller promises to use safely across threads.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
