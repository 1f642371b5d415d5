import ArgumentParser
import TensorCore

/// `peft-bench pool`: what one parallel job costs on the thread pool behind the heavy ops:
/// jobs of 8 equal indices of about 5 µs and 50 µs of arithmetic each, on all threads, against
/// the same work on the calling thread alone. Running it next to another busy process shows how
/// the pool copes with a core it has to share (a job must not wait for a worker that has not
/// started on it).
struct PoolBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pool", abstract: "Parallel.forEach on short jobs: time per job and speed-up over one thread.")

    @OptionGroup var options: BenchmarkOptions

    struct Record: Codable {
        let indices, threads: Int
        let microsecondsPerIndex: Double
        let parallelMicrosecondsPerJob, serialMicrosecondsPerJob, speedup: Double
    }

    struct Report: Codable {
        let pool: [Record]
    }

    static let indices = 8

    func run() throws {
        let threads = options.threads ?? Parallel.threadCount
        // One slot per index, and the last for the calibration run.
        let results = UnsafeMutableBufferPointer<Double>.allocate(capacity: Self.indices + 1)
        defer { results.deallocate() }
        results.initialize(repeating: 0)
        // Iterations of `arithmetic` per microsecond on this core.
        let probe = 1_000_000
        let probeSeconds = Timing.medianSeconds(repetitions: 5) {
            results[Self.indices] = arithmetic(probe, from: results[Self.indices])
        }
        let perMicrosecond = Double(probe) / (probeSeconds * 1e6)
        var records: [Record] = []
        var table = TextTable(columns: ["indices", "µs per index", "threads", "parallel µs/job", "serial µs/job", "speed-up"])
        for microseconds in [5.0, 50.0] {
            let iterations = Swift.max(1, Int(perMicrosecond * microseconds))
            let parallel = Parallel.withThreadCount(threads) {
                Timing.medianSeconds(repetitions: options.repetitions, minimumSampleSeconds: 0.05) {
                    Parallel.forEach(Self.indices) { results[$0] = arithmetic(iterations, from: results[$0]) }
                }
            }
            let serial = Timing.medianSeconds(repetitions: options.repetitions, minimumSampleSeconds: 0.05) {
                for index in 0..<Self.indices { results[index] = arithmetic(iterations, from: results[index]) }
            }
            let record = Record(indices: Self.indices, threads: threads, microsecondsPerIndex: microseconds,
                                parallelMicrosecondsPerJob: parallel * 1e6, serialMicrosecondsPerJob: serial * 1e6,
                                speedup: serial / parallel)
            records.append(record)
            table.append([String(Self.indices), BenchmarkReport.format(microseconds), String(threads),
                          BenchmarkReport.format(record.parallelMicrosecondsPerJob),
                          BenchmarkReport.format(record.serialMicrosecondsPerJob), BenchmarkReport.format(record.speedup)])
        }
        // Reading the results keeps the optimiser from dropping the work as unused.
        precondition(results.allSatisfy(\.isFinite), "pool: the arithmetic overflowed")
        print(table.rendered())
        if let path = options.json { try BenchmarkReport.writeJSON(Report(pool: records), to: path) }
    }
}

/// A dependent chain of `iterations` multiply-adds from `start` (each call continues from the
/// last one's result, so the optimiser can neither shorten nor hoist it).
@inline(never)
private func arithmetic(_ iterations: Int, from start: Double) -> Double {
    var value = start
    for step in 0..<iterations { value = value * 0.999_999 + Double(step & 7) * 1e-9 }
    return value
}
