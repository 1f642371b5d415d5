import ArgumentParser

extension BenchmarkClock: ExpressibleByArgument {}

/// `peft-bench`: measurements of this machine and of SwiftPEFT's kernels. Each subcommand
/// lives in its own file and reports through `BenchmarkReport` (table + JSON) with timings
/// from `Timing`.
@main
struct PeftBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peft-bench",
        abstract: "Benchmarks SwiftPEFT's kernels on this machine (build with -c release).",
        subcommands: [GEMMBenchmark.self, OpsBenchmark.self, PoolBenchmark.self, LoadBenchmark.self, TrainBenchmark.self, EstimateBenchmark.self])
}

/// Options every benchmark subcommand shares.
struct BenchmarkOptions: ParsableArguments {
    @Option(name: .long, help: "Also write the results as JSON to this file.")
    var json: String?

    @Option(name: .long, help: "Threads for the multi-threaded runs (default: all cores).")
    var threads: Int?

    @Option(name: .long, help: "Timed repetitions per measurement; the median is reported.")
    var repetitions: Int = 7

    @Option(name: .long, help: "Clock: wall (elapsed) or cpu (process CPU time / threads, for shared machines).")
    var clock: BenchmarkClock = .wall

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if repetitions < 1 { throw ValidationError("--repetitions must be at least 1, got \(repetitions)") }
    }
}
