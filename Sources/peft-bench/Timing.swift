import Dispatch
import Foundation

/// Which clock a benchmark reads.
enum BenchmarkClock: String, CaseIterable, Codable {
    /// Elapsed time: what a user waits for.
    case wall
    /// CPU time of the whole process divided by the threads used: on a machine shared with
    /// other work this approximates the uncontended time (it ignores idle waits and imbalance).
    case cpu
}

/// Timing helpers shared by the benchmark subcommands.
enum Timing {
    /// Seconds on `clock` since an arbitrary start.
    static func now(_ clock: BenchmarkClock = .wall) -> Double {
        switch clock {
        case .wall:
            return Double(DispatchTime.now().uptimeNanoseconds) * 1e-9
        case .cpu:
            var time = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
            return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
        }
    }

    /// The median time of one call of `body`, over `repetitions` samples after one warm-up
    /// call. Each sample runs `body` often enough to last `minimumSampleSeconds`, so short
    /// operations are timed over many calls. With the CPU clock, `threads` divides the time.
    static func medianSeconds(repetitions: Int, clock: BenchmarkClock = .wall, threads: Int = 1,
                              minimumSampleSeconds: Double = 0.005, _ body: () -> Void) -> Double {
        let divisor = clock == .cpu ? Double(threads) : 1
        var start = now(clock)
        body()
        let first = Swift.max((now(clock) - start) / divisor, 1e-9)
        let callsPerSample = Swift.max(1, Int((minimumSampleSeconds / first).rounded(.up)))
        var samples: [Double] = []
        for _ in 0..<repetitions {
            start = now(clock)
            for _ in 0..<callsPerSample { body() }
            samples.append((now(clock) - start) / divisor / Double(callsPerSample))
        }
        return median(samples)
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
