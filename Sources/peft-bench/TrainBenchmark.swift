import ArgumentParser
import Foundation
import Formats
import Models
import NN
import PEFT
import TensorCore
import Training

/// `peft-bench train`: training steps per second and peak memory of all-MiniLM-L6-v2 with a
/// 2-class head — LoRA r=8 on query and value (+ the classifier), full fine-tuning, and
/// inference — at batch 16 × 128 tokens. `scripts/reference/pytorch_train_bench.py` measures
/// the same three with PyTorch + transformers + peft, so the two can be compared side by side.
/// Each training configuration also shows `MemoryEstimator`'s predicted time per step.
///
/// Peak memory of each configuration is the high-water mark of the resident set after
/// resetting it (Linux `/proc/self/clear_refs`), minus the resident size before the model was
/// built; run one configuration per process (`--only`) for the cleanest figure.
struct TrainBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "MiniLM training steps/s and peak memory: LoRA, full fine-tuning, inference.")

    @OptionGroup var options: BenchmarkOptions
    @Option(help: "A BERT model folder.") var model = ".cache/assets/all-MiniLM-L6-v2"
    @Option(help: "Sequences per batch.") var batchSize = 16
    @Option(help: "Tokens per sequence.") var maxLength = 128
    @Option(help: "Timed steps per configuration (after one warm-up step).") var steps = 5
    @Option(help: "Run only this configuration: lora, full or inference.") var only: String?

    struct Record: Codable {
        let configuration: String
        let secondsPerStep: Double
        /// `MemoryEstimator`'s prediction (training configurations).
        let estimatedSecondsPerStep: Double?
        let stepsPerSecond: Double
        let tokensPerSecond: Double
        let peakMemoryBytes: Int?
        let trainableParameters: Int
    }

    struct Report: Codable {
        let batchSize, maxLength, threads: Int
        let results: [Record]
    }

    func validate() throws {
        if let only, !["lora", "full", "inference"].contains(only) {
            throw ValidationError("--only must be lora, full or inference, got \(only)")
        }
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1") }
    }

    func run() throws {
        let folder = URL(fileURLWithPath: model)
        let configuration = try BertConfiguration.load(from: folder)
        var generator = RandomGenerator(seed: 1)
        let ids = (0..<(batchSize * maxLength)).map { _ in 1000 + Int(generator.next() % 20_000) }
        let batch = TokenBatch(ids: ids, batchSize: batchSize, length: maxLength)
        let targets = (0..<batchSize).map { $0 % 2 }
        var records: [Record] = []
        var table = TextTable(columns: ["configuration", "s/step", "estimated s/step", "steps/s", "tokens/s", "peak memory", "trainable"])
        for name in only.map({ [$0] }) ?? ["lora", "full", "inference"] {
            let baseline = residentBytes()
            _ = MemoryProbe.resetPeak()
            let classifier = BertForSequenceClassification(configuration: configuration, labelCount: 2, generator: &generator)
            try classifier.bert.loadWeights(from: folder)
            var lora = LoRAConfiguration(rank: 8, alpha: 16, targetModules: .names(["query", "value"]), dropout: 0.1)
            lora.modulesToSave = ["classifier"]
            if name == "lora" { _ = try PeftModel(model: classifier, configuration: lora, seed: 0) }
            let optimizer = AdamW(learningRate: 1e-4)
            classifier.setTraining(name != "inference")
            func step() {
                if name == "inference" {
                    _ = Tensor.withoutGradient { classifier(batch) }.toArray()
                    return
                }
                crossEntropy(logits: classifier(batch), targets: targets).backward()
                optimizer.step(classifier)
                classifier.zeroGradients()
            }
            step()
            let seconds = Timing.median((0..<steps).map { _ in
                let start = Timing.now()
                step()
                return Timing.now() - start
            })
            let peak = MemoryProbe.peakResidentBytes().map { $0 - baseline }
            let method: TrainingMethod? = switch name {
            case "lora": .lora(rank: 8, targetModules: ["query", "value"], dropout: 0.1)
            case "full": .full
            default: nil
            }
            let estimate = method.map {
                MemoryEstimator(configuration: configuration, labelCount: 2).estimate(method: $0, batchSize: batchSize, tokens: maxLength)
            }
            let record = Record(configuration: name, secondsPerStep: seconds, estimatedSecondsPerStep: estimate?.secondsPerStep,
                                stepsPerSecond: 1 / seconds,
                                tokensPerSecond: Double(batchSize * maxLength) / seconds, peakMemoryBytes: peak,
                                trainableParameters: name == "inference" ? 0 : classifier.parameterCounts().trainable)
            records.append(record)
            table.append([name, BenchmarkReport.format(seconds, digits: 3),
                          estimate.map { BenchmarkReport.format($0.secondsPerStep, digits: 3) } ?? "n/a",
                          BenchmarkReport.format(1 / seconds, digits: 2),
                          BenchmarkReport.format(record.tokensPerSecond, digits: 0),
                          peak.map { BenchmarkReport.format(Double($0) / 1_048_576, digits: 0) + " MiB" } ?? "n/a",
                          String(record.trainableParameters)])
        }
        print("MiniLM, batch \(batchSize) x \(maxLength) tokens, \(Parallel.threadCount) threads")
        print(table.rendered())
        if let path = options.json {
            try BenchmarkReport.writeJSON(Report(batchSize: batchSize, maxLength: maxLength, threads: Parallel.threadCount,
                                                 results: records), to: path)
        }
    }

    /// The current resident set size (VmRSS) in bytes, 0 where /proc is absent.
    private func residentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
        }
        return 0
    }
}
