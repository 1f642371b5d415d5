import Dispatch
import Testing
@testable import TensorCore

/// `Parallel.forEach` runs on a persistent pool (or Dispatch when the pool is taken): every index
/// must run exactly once, whatever the thread count, nesting or concurrent callers.
@Suite struct ParallelTests {
    /// How often each index of `0..<count` ran under `threads` threads.
    private func runCounts(_ count: Int, threads: Int) -> [Int] {
        var runs = [Int](repeating: 0, count: count)
        runs.withUnsafeMutableBufferPointer { runs in
            Parallel.withThreadCount(threads) { Parallel.forEach(count) { runs[$0] += 1 } }
        }
        return runs
    }

    @Test func everyIndexRunsOnce() {
        for threads in 1...4 {
            for count in 0...40 {
                #expect(runCounts(count, threads: threads) == [Int](repeating: 1, count: count),
                        "count \(count), threads \(threads)")
            }
        }
    }

    /// Many small jobs back to back: workers must pick up each new job, never run one twice.
    @Test func backToBackJobs() {
        var total = 0
        for job in 0..<2_000 {
            total += runCounts(job % 5 + 2, threads: 2).reduce(0, +) - (job % 5 + 2)
        }
        #expect(total == 0)
    }

    @Test func nestedCallsRunEveryPair() {
        var runs = [Int](repeating: 0, count: 6 * 7)
        runs.withUnsafeMutableBufferPointer { runs in
            Parallel.withThreadCount(3) {
                Parallel.forEach(6) { outer in Parallel.forEach(7) { inner in runs[outer * 7 + inner] += 1 } }
            }
        }
        #expect(runs == [Int](repeating: 1, count: 6 * 7))
    }

    @Test func concurrentCallersEachGetTheirWork() {
        let callers = 4, count = 33
        var runs = [Int](repeating: 0, count: callers * count)
        runs.withUnsafeMutableBufferPointer { runs in
            let shared = UncheckedSendable(runs)
            DispatchQueue.concurrentPerform(iterations: callers) { caller in
                for _ in 0..<50 {
                    Parallel.withThreadCount(2) { Parallel.forEach(count) { shared.value[caller * count + $0] += 1 } }
                }
            }
        }
        #expect(runs == [Int](repeating: 50, count: callers * count))
    }
}
