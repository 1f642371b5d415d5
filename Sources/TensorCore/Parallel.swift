import CKernels
import Dispatch
import Foundation

/// Splits work across the machine's cores.
public enum Parallel {
    /// The process-wide number of threads the heavy ops use; defaults to the number of active
    /// cores. Set it once at start-up (a command-line flag, a benchmark); code that needs a
    /// different count for a while uses `withThreadCount`, which leaves other threads alone.
    nonisolated(unsafe) public static var defaultThreadCount: Int = ProcessInfo.processInfo.activeProcessorCount

    @TaskLocal private static var scopedThreadCount: Int?

    /// Threads the heavy ops called from here use.
    public static var threadCount: Int { scopedThreadCount ?? defaultThreadCount }

    /// Runs `body` with the heavy ops it calls on this thread spread over `count` threads.
    public static func withThreadCount<Result>(_ count: Int, _ body: () throws -> Result) rethrows -> Result {
        try $scopedThreadCount.withValue(Swift.max(1, count), operation: body)
    }

    /// Runs `body(index)` for every index in `0..<count`, spread over `threadCount` threads.
    /// Each call gets a disjoint index; `body` must only write what that index owns. Thread t
    /// starts with index t (so repeated ops find their part of the data in the same core's
    /// cache); a call made while another is running, or from inside one, runs on Dispatch.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        let threads = Swift.min(threadCount, count)
        if threads <= 1 {
            for index in 0..<count { body(index) }
            return
        }
        withoutActuallyEscaping(body) { body in
            var job = body
            let ran = withUnsafeMutablePointer(to: &job) { pointer in
                peft_parallel_for(count, threads, { context, index in
                    context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(index)
                }, pointer)
            }
            if ran == 0 { dispatchForEach(count, body) }
        }
    }

    private static func dispatchForEach(_ count: Int, _ body: @escaping (Int) -> Void) {
        // The workers run the kernels the caller's thread selected (see peft_set_cpu_level).
        let level = peft_forced_cpu_level()
        let box = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: count) { index in
            let workerLevel = peft_forced_cpu_level()
            if workerLevel != level { peft_set_cpu_level(level) }
            box.value(index)
            if workerLevel != level { peft_set_cpu_level(workerLevel) }
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
