import ArgumentParser
import Foundation
import Formats
import Models
import NN
import PEFT
import TensorCore
import Training
#if canImport(Glibc)
import Glibc
#endif

/// `peft-bench estimate`: trains BertForSequenceClassification for a few AdamW steps and
/// compares the measured peak memory with `MemoryEstimator`'s prediction. (Every large
/// allocation is mapped here, which slows the steps: `peft-bench train` compares step times.)
///
/// Measurement: large allocations are served by mmap (`mallopt(M_MMAP_THRESHOLD, 64 KiB)`), so
/// freed tensors leave the resident set at once; after the model is loaded and its weights
/// touched (a long run reads every page), the kernel's high-water mark is reset
/// (`/proc/self/clear_refs` = 5) and the steps run. The measured peak is VmHWM minus the
/// resident size before the model was loaded (runtime, code, tokenizer-free batch). Run one
/// configuration per process.
struct EstimateBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "estimate", abstract: "Measure peak memory and step time of BERT fine-tuning against the estimate.")

    @OptionGroup var options: BenchmarkOptions
    @Option(help: "A BERT model folder.") var model = ".cache/assets/all-MiniLM-L6-v2"
    @Option(help: "full, head, lora, ia3, houlsby, pfeiffer, bitfit, norm, or selective (mask: top --density by weight magnitude).")
    var method = "lora"
    @Option(help: "Selective mask density.") var density = 0.005
    @Option(help: "LoRA rank.") var rank = 8
    @Option(help: "LoRA target modules, comma-separated.") var targetModules = "query,value"
    @Option(help: "LoRA dropout probability.") var loraDropout = 0.0
    @Option(help: "Hidden size / bottleneck size of Houlsby and Pfeiffer adapters.") var reductionFactor = 16.0
    @Option(help: "Sequences per batch.") var batchSize = 8
    @Option(help: "Tokens per sequence.") var maxLength = 128
    @Option(help: "Training steps to run.") var steps = 3

    struct Report: Codable {
        let method: String
        let batchSize: Int
        let maxLength: Int
        let estimatedPeakBytes: Int
        let measuredPeakBytes: Int
        let relativeError: Double
        let estimate: TrainingEstimate
    }

    func run() throws {
        setMmapThreshold(64 * 1024)
        let folder = URL(fileURLWithPath: model)
        let configuration = try BertConfiguration.load(from: folder)
        let baseline = residentBytes("VmRSS")
        let classifier: BertForSequenceClassification
        let trainingMethod: TrainingMethod
        var selective: SelectiveFineTuning?
        var generator = RandomGenerator(seed: 0)
        if method == "selective" {
            trainingMethod = .selective(density: density)
            classifier = BertForSequenceClassification(configuration: configuration, labelCount: 2, generator: &generator)
            try classifier.bert.loadWeights(from: folder)
            let magnitudes = SensitivityAnalysis.magnitudes(of: classifier, matching: #"(?!classifier\.).*"#)
            var mask = SparseMask(topFraction: density, of: magnitudes, scope: .perTensor)
            mask.selectAll(of: Dictionary(uniqueKeysWithValues: classifier.namedParameters().filter { $0.path.hasPrefix("classifier.") }
                .map { ($0.path, $0.tensor) }))
            selective = SelectiveFineTuning(model: classifier, mask: mask)
        } else {
            // Every other method is set up exactly as `peft train` sets it up.
            var settings = TrainingConfiguration()
            guard let kind = TrainingConfiguration.Method(rawValue: method), kind != .plannedLoRA,
                  kind != .promptTuning, kind != .prefixTuning else {
                throw ValidationError("--method must be full, head, lora, ia3, houlsby, pfeiffer, bitfit, norm or selective, got '\(method)'")
            }
            settings.method = kind
            settings.rank = rank
            settings.alpha = Double(2 * rank)
            settings.dropout = loraDropout
            settings.targetModules = targetModules.split(separator: ",").map(String.init)
            settings.reductionFactor = reductionFactor
            settings.seed = 0
            let sequenceClassifier = try SequenceClassifier(modelFolder: folder, labelCount: 2, configuration: settings)
            classifier = sequenceClassifier.model
            trainingMethod = RunMemoryEstimate.method(settings, classifier: sequenceClassifier)!
        }
        let estimate = MemoryEstimator(configuration: configuration, labelCount: 2)
            .estimate(method: trainingMethod, batchSize: batchSize, tokens: maxLength)
        var touched: Float = 0
        for (_, tensor) in classifier.namedParameters() { touched += tensor.toArray().reduce(0, +) }
        classifier.setTraining(true)
        let ids = (0..<(batchSize * maxLength)).map { _ in Int(generator.next() % UInt64(configuration.vocabularySize)) }
        let batch = TokenBatch(ids: ids, batchSize: batchSize, length: maxLength)
        let labels = (0..<batchSize).map { $0 % 2 }
        let optimizer = AdamW(learningRate: 1e-5, weightDecay: 0.01)
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
        for _ in 0..<steps {
            crossEntropy(logits: classifier(batch), targets: labels).backward()
            if let selective { selective.step(with: optimizer) } else { optimizer.step(classifier) }
            classifier.zeroGradients()
        }
        let measured = residentBytes("VmHWM") - baseline
        let report = Report(method: method, batchSize: batchSize, maxLength: maxLength, estimatedPeakBytes: estimate.peakBytes,
                            measuredPeakBytes: measured,
                            relativeError: Double(estimate.peakBytes - measured) / Double(measured), estimate: estimate)
        var table = TextTable(columns: ["method", "B", "T", "estimated MiB", "measured MiB", "error %", "peak phase"])
        table.append([method, String(batchSize), String(maxLength),
                      BenchmarkReport.format(Double(estimate.peakBytes) / 1_048_576), BenchmarkReport.format(Double(measured) / 1_048_576),
                      BenchmarkReport.format(100 * report.relativeError), estimate.peakPhase])
        print(table.rendered())
        print("components MiB: weights \(mib(estimate.weightBytes)), method \(mib(estimate.methodBytes)), gradients \(mib(estimate.gradientBytes)), "
            + "AdamW \(mib(estimate.optimizerBytes)), activations \(mib(estimate.activationBytes)), workspace \(mib(estimate.backwardWorkspaceBytes)), "
            + "first-step copies \(mib(estimate.firstStepCopyBytes)) (checksum \(touched.isFinite ? "ok" : "nan"))")
        if let path = options.json { try BenchmarkReport.writeJSON(report, to: path) }
    }

    /// glibc's `mallopt(M_MMAP_THRESHOLD, bytes)`, looked up at run time (Swift's Glibc module
    /// does not export it); a no-op elsewhere.
    private func setMmapThreshold(_ bytes: Int32) {
        #if canImport(Glibc)
        typealias MallocOption = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        _ = unsafeBitCast(symbol, to: MallocOption.self)(-3, bytes)   // M_MMAP_THRESHOLD
        #endif
    }

    private func mib(_ bytes: Int) -> String { BenchmarkReport.format(Double(bytes) / 1_048_576) }

    /// A `Vm...` line of /proc/self/status in bytes.
    private func residentBytes(_ field: String) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }) else { return 0 }
        return (Int(line.split(separator: " ").dropFirst().first { Int($0) != nil } ?? "0") ?? 0) * 1024
    }
}
