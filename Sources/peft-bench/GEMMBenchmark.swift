import ArgumentParser
import CKernels
import TensorCore

/// `peft-bench gemm`: float32 GEMM throughput against the core's FMA peak, on square shapes and
/// on the transformer and LoRA shapes training hits.
struct GEMMBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm", abstract: "GEMM GFLOP/s on 1 and all threads, as % of the FMA peak.")

    @OptionGroup var options: BenchmarkOptions

    /// (M, K, N): squares, then BERT-base-like projections and the rank-8 LoRA factors.
    static let shapes: [(m: Int, k: Int, n: Int)] = [
        (256, 256, 256), (512, 512, 512), (1024, 1024, 1024), (2048, 2048, 2048),
        (2048, 384, 384), (2048, 384, 1536), (2048, 1536, 384), (512, 768, 2304),
        (2048, 384, 8), (2048, 8, 384),
    ]

    struct Record: Codable {
        let m, k, n, threads: Int
        let gflops, percentOfPeak: Double
        /// The FMA probe around this measurement; `percentOfPeak` is against it.
        let localPeakGflopsPerCore: Double
    }

    struct Report: Codable {
        let peakGflopsPerCore: Double
        let cpuLevel: String
        let clock: BenchmarkClock
        let gemm: [Record]
    }

    func run() throws {
        let allThreads = options.threads ?? Parallel.threadCount
        let peak = Timing.median((0..<3).map { _ in peft_fma_probe_gflops(0.2) })
        let level = String(cString: peft_cpu_level_name())
        print("CPU level \(level), FMA peak \(BenchmarkReport.format(peak)) GFLOP/s per core, \(options.clock) clock")
        var table = TextTable(columns: ["M", "K", "N", "threads", "GFLOP/s", "local peak", "% of peak"])
        var records: [Record] = []
        let threadCounts = allThreads == 1 ? [1] : [1, allThreads]
        for shape in Self.shapes {
            let a = Tensor.randomUniform([shape.m, shape.k], low: -1, high: 1, seed: 1)
            let b = Tensor.randomUniform([shape.k, shape.n], low: -1, high: 1, seed: 2)
            let c = Tensor.zeros([shape.m, shape.n])
            for threads in threadCounts {
                let sample = measure(shape, threads: threads) { matmul(a, b, into: c) }
                let record = Record(m: shape.m, k: shape.k, n: shape.n, threads: threads, gflops: sample.gflops,
                                    percentOfPeak: sample.percentOfPeak, localPeakGflopsPerCore: sample.localPeak)
                records.append(record)
                table.append([String(shape.m), String(shape.k), String(shape.n), String(threads),
                              BenchmarkReport.format(sample.gflops), BenchmarkReport.format(sample.localPeak),
                              BenchmarkReport.format(record.percentOfPeak)])
            }
        }
        print(table.rendered())
        if let path = options.json {
            let report = Report(peakGflopsPerCore: peak, cpuLevel: level, clock: options.clock, gemm: records)
            try BenchmarkReport.writeJSON(report, to: path)
        }
    }

    /// This machine's speed drifts (a shared host): every repetition probes the peak right before
    /// and right after its timed sample and is scored against the higher of the two. The medians
    /// of the samples' rates and percentages are reported.
    private func measure(_ shape: (m: Int, k: Int, n: Int), threads: Int,
                         _ body: () -> Void) -> (gflops: Double, localPeak: Double, percentOfPeak: Double) {
        let flops = 2 * Double(shape.m * shape.k * shape.n)
        var rates: [Double] = [], peaks: [Double] = [], percentages: [Double] = []
        Parallel.withThreadCount(threads) {
            body() // warm-up: scratch buffers, worker threads
            for _ in 0..<options.repetitions {
                let before = peft_fma_probe_gflops(0.02)
                let seconds = Timing.medianSeconds(repetitions: 1, clock: options.clock, threads: threads,
                                                   minimumSampleSeconds: 0.02, body)
                let peak = Swift.max(before, peft_fma_probe_gflops(0.02))
                rates.append(flops / seconds / 1e9)
                peaks.append(peak)
                percentages.append(100 * rates[rates.count - 1] / (peak * Double(threads)))
            }
        }
        return (Timing.median(rates), Timing.median(peaks), Timing.median(percentages))
    }
}
