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

    /// Many small jobs back to back, most finished before a worker wakes: a late worker must sit
    /// out a closed job and pick up the next, and no index may run twice or be skipped.
    @Test func backToBackJobs() {
        var wrong = 0
        for job in 0..<3_000 {
            let count = job % 9 + 1, threads = job % 3 + 2
            wrong += runCounts(count, threads: threads).filter { $0 != 1 }.count
        }
        #expect(wrong == 0)
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
