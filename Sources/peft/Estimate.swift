import ArgumentParser
import Formats
import Foundation
import PEFT

/// `peft estimate`: peak memory and time per step of fine-tuning a BERT model, before running it.
struct Estimate: ParsableCommand {
    static let methods = ["full", "head", "lora", "selective", "ia3", "houlsby", "pfeiffer", "bitfit", "norm"]

    static let configuration = CommandConfiguration(
        abstract: "Estimate peak memory and time per training step (BERT sequence classification, AdamW).",
        discussion: """
        Counts the model file's weights, the method's tensors, gradients, AdamW's two moments, the activations \
        this engine saves for backward (replaying BERT's forward op by op) and the backward workspace, and \
        takes the worse of the backward pass and the first optimizer step. Time is the step's matrix \
        flops over this machine's measured GEMM rate plus the bytes its other ops move (elementwise ops, \
        attention scores, AdamW) over its measured elementwise rate.
        """)

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "full, head, lora, selective, ia3, houlsby, pfeiffer, bitfit or norm.") var method = "lora"
    @Option(help: "LoRA rank.") var rank = 8
    @Option(help: "LoRA target modules, comma-separated (last path components).") var targetModules = "query,value"
    @Option(help: "LoRA dropout probability.") var loraDropout = 0.0
    @Option(help: "Selective mask density (fraction of parameters).") var density = 0.005
    @Option(help: "Hidden size / bottleneck size of Houlsby and Pfeiffer adapters.") var reductionFactor = 16.0
    @Option(help: "Classification labels.") var labels = 2
    @Option(help: "Sequences per batch.") var batchSize = 16
    @Option(help: "Tokens per sequence (padded length).") var maxLength = 128
    @Option(help: "Use this GEMM rate (GFLOP/s) instead of measuring it.") var gemmGflops: Double?
    @Option(help: "Use this elementwise rate (GB/s read and written) instead of measuring it.") var elementwiseGbps: Double?
    @Flag(help: "Print one JSON object instead of a table.") var json = false

    func validate() throws {
        guard Self.methods.contains(method) else {
            throw ValidationError("--method must be one of \(Self.methods.joined(separator: ", ")), got '\(method)'")
        }
        guard reductionFactor >= 1 else { throw ValidationError("--reduction-factor must be at least 1, got \(reductionFactor)") }
        guard rank > 0 else { throw ValidationError("--rank must be positive, got \(rank)") }
        guard (0..<1).contains(loraDropout) else { throw ValidationError("--lora-dropout must lie in [0, 1), got \(loraDropout)") }
        guard density > 0 && density <= 1 else { throw ValidationError("--density must lie in (0, 1], got \(density)") }
        guard labels >= 2 else { throw ValidationError("--labels must be at least 2, got \(labels)") }
        guard batchSize > 0 && maxLength > 1 else { throw ValidationError("--batch-size and --max-length must be positive") }
        if let gemmGflops, gemmGflops <= 0 { throw ValidationError("--gemm-gflops must be positive") }
        if let elementwiseGbps, elementwiseGbps <= 0 { throw ValidationError("--elementwise-gbps must be positive") }
    }

    func run() throws {
        let folder = modelOptions.modelURL
        let configuration = try BertConfiguration.load(from: folder)
        let file = try SafetensorsFile(url: folder.appendingPathComponent("model.safetensors"))
        let elementBytes = file.names.compactMap { file.info($0) }.first { $0.shape.count == 2 }?.dtype.byteSize ?? 4
        let trainingMethod: TrainingMethod
        switch method {
        case "full": trainingMethod = .full
        case "head": trainingMethod = .head
        case "selective": trainingMethod = .selective(density: density)
        case "ia3": trainingMethod = .ia3
        case "houlsby", "pfeiffer": trainingMethod = .bottleneck(reductionFactor: reductionFactor, afterAttention: method == "houlsby")
        case "bitfit": trainingMethod = .bitFit
        case "norm": trainingMethod = .norm
        default: trainingMethod = .lora(rank: rank, targetModules: targetModules.split(separator: ",").map(String.init), dropout: loraDropout)
        }
        let estimate = MemoryEstimator(configuration: configuration, labelCount: labels, weightElementBytes: elementBytes)
            .estimate(method: trainingMethod, batchSize: batchSize, tokens: maxLength, gemmGigaflops: gemmGflops,
                      elementwiseGigabytesPerSecond: elementwiseGbps)
        if json {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            FileHandle.standardOutput.write(try encoder.encode(estimate))
            print("")
            return
        }
        print("\(method) on \(folder.lastPathComponent), batch \(batchSize) x \(maxLength) tokens, AdamW")
        print("trainable parameters: \(formatCount(estimate.trainableParameterCount)) of \(formatCount(estimate.parameterCount))")
        print(formatTable(["memory", "bytes"], [
            ["weights (model file)", formatBytes(estimate.weightBytes)],
            ["method tensors", formatBytes(estimate.methodBytes)],
            ["gradients", formatBytes(estimate.gradientBytes)],
            ["AdamW state", formatBytes(estimate.optimizerBytes)],
            ["saved activations", formatBytes(estimate.activationBytes)],
            ["backward workspace", formatBytes(estimate.backwardWorkspaceBytes)],
            ["first-step weight copies", formatBytes(estimate.firstStepCopyBytes)],
            ["peak (\(estimate.peakPhase))", formatBytes(estimate.peakBytes)],
        ]))
        print(String(format: "time: %.3g GFLOP at %.1f GFLOP/s + %.3g GB elementwise at %.1f GB/s + AdamW at %.0f M elements/s -> %.3f s per step",
                     estimate.flopsPerStep / 1e9, estimate.gemmGigaflops, estimate.elementwiseBytesPerStep / 1e9,
                     estimate.elementwiseGigabytesPerSecond, estimate.optimizerElementsPerSecond / 1e6, estimate.secondsPerStep))
    }
}
