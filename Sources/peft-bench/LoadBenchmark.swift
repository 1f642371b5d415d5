import ArgumentParser
import Foundation
import Formats
import Models
import TensorCore

/// `peft-bench load`: how long opening a model takes — the safetensors header alone, and the
/// whole BERT model built and loaded (memory-mapped, so weights are not read until used).
struct LoadBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load", abstract: "Time loading a BERT model folder (default: all-MiniLM-L6-v2).")

    @OptionGroup var options: BenchmarkOptions
    @Option(help: "A BERT model folder.") var model = ".cache/assets/all-MiniLM-L6-v2"

    struct Report: Codable {
        let model: String
        let parameters: Int
        let openSafetensorsMilliseconds: Double
        let loadModelMilliseconds: Double
        let firstForwardMilliseconds: Double
    }

    func run() throws {
        let folder = URL(fileURLWithPath: model)
        let weights = folder.appendingPathComponent("model.safetensors")
        guard FileManager.default.fileExists(atPath: weights.path) else {
            throw ValidationError("--model: \(weights.path) not found (run scripts/fetch-assets)")
        }
        var openSamples: [Double] = [], loadSamples: [Double] = [], forwardSamples: [Double] = []
        var parameters = 0
        let batch = TokenBatch(ids: [101, 7592, 2088, 102], batchSize: 1, length: 4)
        for _ in 0..<options.repetitions {
            var start = Timing.now()
            _ = try SafetensorsFile(url: weights)
            openSamples.append(Timing.now() - start)
            start = Timing.now()
            let loaded = try BertModel.load(from: folder)
            loadSamples.append(Timing.now() - start)
            parameters = loaded.parameterCounts().total
            loaded.setTraining(false)
            start = Timing.now()
            _ = Tensor.withoutGradient { loaded(batch) }
            forwardSamples.append(Timing.now() - start)
        }
        let report = Report(model: folder.path, parameters: parameters,
                            openSafetensorsMilliseconds: Timing.median(openSamples) * 1e3,
                            loadModelMilliseconds: Timing.median(loadSamples) * 1e3,
                            firstForwardMilliseconds: Timing.median(forwardSamples) * 1e3)
        var table = TextTable(columns: ["model", "parameters", "open ms", "load ms", "first forward ms"])
        table.append([folder.lastPathComponent, String(parameters),
                      BenchmarkReport.format(report.openSafetensorsMilliseconds, digits: 2),
                      BenchmarkReport.format(report.loadModelMilliseconds, digits: 2),
                      BenchmarkReport.format(report.firstForwardMilliseconds, digits: 2)])
        print(table.rendered())
        if let path = options.json { try BenchmarkReport.writeJSON(report, to: path) }
    }
}
