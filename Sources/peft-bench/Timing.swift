import Dispatch

/// Wall-clock timing helpers shared by the benchmark subcommands.
enum Timing {
    /// Seconds since an arbitrary start, monotonic.
    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

    /// The median time of one call of `body`, over `repetitions` samples after one warm-up
    /// call. Each sample runs `body` often enough to last `minimumSampleSeconds`, so short
    /// operations are timed over many calls.
    static func medianSeconds(repetitions: Int, minimumSampleSeconds: Double = 0.005,
                              _ body: () -> Void) -> Double {
        var start = now()
        body()
        let first = Swift.max(now() - start, 1e-9)
        let callsPerSample = Swift.max(1, Int((minimumSampleSeconds / first).rounded(.up)))
        var samples: [Double] = []
        for _ in 0..<repetitions {
            start = now()
            for _ in 0..<callsPerSample { body() }
            samples.append((now() - start) / Double(callsPerSample))
        }
        return median(samples)
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
