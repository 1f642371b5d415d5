import Formats
import Foundation
import Models
import NN
import PEFT
import TensorCore

// Shapes: B blocks per batch, T tokens per block (max_length), V vocabulary.

/// The figures of one causal-LM fine-tuning run.
public struct CausalLMRunResult: Sendable {
    public var method: TrainingConfiguration.Method
    public var trainableParameters: Int
    public var totalParameters: Int
    public var steps: Int
    public var trainingBlocks: Int
    public var trainingTokens: Int
    public var trainingSeconds: Double
    /// Peak resident memory during the run (model loading included), when the system tells.
    public var peakMemoryBytes: Int?
    /// Validation perplexity of the base model and of the trained one (nil without validation data).
    public var perplexityBefore: PerplexityMeter?
    public var perplexityAfter: PerplexityMeter?
    public var output: URL
    public var history: [LogRecord]

    public var trainablePercentage: Double { 100 * Double(trainableParameters) / Double(max(1, totalParameters)) }

    /// The result as a JSON object (for `--json`).
    public func jsonObject() -> [String: Any] {
        func meter(_ value: PerplexityMeter?) -> Any {
            value.map { ["perplexity": $0.perplexity, "loss": $0.meanLoss, "tokens": $0.tokenCount] as [String: Any] } ?? NSNull()
        }
        return [
            "method": method.rawValue, "trainable_parameters": trainableParameters, "total_parameters": totalParameters,
            "trainable_percent": trainablePercentage, "steps": steps, "training_blocks": trainingBlocks,
            "training_tokens": trainingTokens, "training_seconds": trainingSeconds,
            "peak_memory_bytes": peakMemoryBytes.map { $0 as Any } ?? NSNull(),
            "validation_before": meter(perplexityBefore), "validation_after": meter(perplexityAfter), "output": output.path,
        ]
    }
}

/// Fine-tuning a decoder (SmolLM2 from GGUF, a LLaMA or GPT-2 folder) on plain text: the text
/// is cut into blocks of `max_length` tokens, each trained on next-token prediction with the
/// shared `Trainer`; the validation text's perplexity is measured before and after. LoRA (on
/// `q_proj`, `k_proj`, `v_proj`, `o_proj` unless `target_modules` says otherwise) saves a PEFT
/// adapter folder (`task_type` `CAUSAL_LM`) that `peft generate --adapter` and Python PEFT load;
/// `full` saves `trained_weights.safetensors`.
///
/// ```swift
/// let result = try CausalLMRun.run(configuration: configuration, output: output)
/// print(result.perplexityBefore!.perplexity, "->", result.perplexityAfter!.perplexity)
/// ```
public enum CausalLMRun {
    /// LLaMA's attention projections, PEFT's default LoRA targets for the family.
    public static let defaultTargetModules = ["q_proj", "k_proj", "v_proj", "o_proj"]
    /// Tokens per forward pass when measuring perplexity: bounds the logits' memory (T·V floats per block).
    static let evaluationTokensPerPass = 2048

    /// `path` tokenised line by line (each line with its newline; blank lines skipped) and cut
    /// into blocks of `blockLength + 1` tokens (inputs and their next tokens), at most `limit`
    /// of them (0: all) drawn with `seed`.
    public static func loadText(_ path: String, tokenizer: ByteLevelBPETokenizer, blockLength: Int,
                                limit: Int = 0, seed: UInt64 = 0) throws -> LanguageModelingText {
        var text = try LanguageModelingText.load(from: URL(fileURLWithPath: path), blockLength: blockLength) {
            tokenizer.encode($0 + "\n", addSpecialTokens: false)
        }
        text.blocks = seededSubset(count: text.blocks.count, limit: limit, seed: seed).map { text.blocks[$0] }
        return text
    }

    /// The mean next-token cross-entropy of equal-length blocks: each block's first T tokens
    /// predict its last T. tokens: [B, T + 1] -> scalar.
    public static func nextTokenLoss(model: any CausalLanguageModel, tokens: TokenBatch) -> Tensor {
        let (rows, length) = (tokens.batchSize, tokens.length - 1)
        precondition(length >= 1 && !tokens.attentionMask.contains(0),
                     "nextTokenLoss: blocks [\(rows), \(tokens.length)] must be unpadded and hold at least 2 tokens")
        var inputs: [Int] = [], targets: [Int] = []
        for row in 0..<rows {
            let block = tokens.ids[(row * tokens.length)..<((row + 1) * tokens.length)]
            inputs += block.dropLast()
            targets += block.dropFirst()
        }
        let logits = model(ids: inputs, batchSize: rows)   // [B, T, V]
        return crossEntropy(logits: logits.reshaped([rows * length, logits.shape[2]]), targets: targets)
    }

    /// Perplexity of `model` on `blocks` (each T + 1 tokens), in evaluation mode without a tape.
    public static func perplexity(of model: any CausalLanguageModel, blocks: [[Int]]) -> PerplexityMeter {
        let wasTraining = model.isTraining
        model.setTraining(false)
        defer { model.setTraining(wasTraining) }
        var meter = PerplexityMeter()
        guard let length = blocks.first?.count else { return meter }
        let rows = max(1, evaluationTokensPerPass / length)
        Tensor.withoutGradient {
            for start in stride(from: 0, to: blocks.count, by: rows) {
                let chunk = blocks[start..<min(start + rows, blocks.count)]
                let batch = TokenBatch(ids: chunk.flatMap { $0 }, batchSize: chunk.count, length: length)
                meter.add(meanLoss: nextTokenLoss(model: model, tokens: batch).item, tokenCount: chunk.count * (length - 1))
            }
        }
        return meter
    }

    public static func run(configuration: TrainingConfiguration, output: URL, resume: Bool = false,
                           progress: ConsoleProgress? = nil) throws -> CausalLMRunResult {
        MemoryProbe.resetPeak()
        guard let modelPath = configuration.model, let data = configuration.data else {
            throw ConfigurationError.outOfRange(key: "model", value: "nothing", expected: "a GGUF file or model folder, and --data")
        }
        var configuration = configuration
        configuration.targetModules = configuration.targetModules(defaultingTo: defaultTargetModules)
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        let (model, tokenizer) = try loadDecoder(from: URL(fileURLWithPath: modelPath))
        let train = try loadText(data, tokenizer: tokenizer, blockLength: configuration.maxLength,
                                 limit: configuration.trainLimit, seed: configuration.seed)
        let validation = try configuration.validationData.map {
            try loadText($0, tokenizer: tokenizer, blockLength: configuration.maxLength,
                         limit: configuration.validationLimit, seed: configuration.seed)
        }
        let peft = try applyMethod(configuration, to: model, modelPath: modelPath)
        let before = validation.map { text in
            peft.map { peft in peft.withAdaptersDisabled { perplexity(of: model, blocks: text.blocks) } }
                ?? perplexity(of: model, blocks: text.blocks)
        }
        if let before { progress?.message(String(format: "validation perplexity before: %.3f", before.perplexity)) }

        let trainer = Trainer(model: model, configuration: configuration, train: train.blocks.map { EncodedExample(ids: $0, label: 0) },
                              validation: nil, labelCount: 1, paddingID: 0) { model(ids: $0.ids, batchSize: $0.batchSize) }
        trainer.lossFunction = { nextTokenLoss(model: model, tokens: $0.tokens) }
        trainer.progress = progress
        trainer.log = try TrainingLog(url: output.appendingPathComponent("log.jsonl"), appending: resume)
        let summary = try trainer.train(output: output, resume: resume)
        let after = validation.map { perplexity(of: model, blocks: $0.blocks) }

        let report = TrainableParameterReport(model: model)
        var result = CausalLMRunResult(
            method: configuration.method, trainableParameters: report.trainable, totalParameters: report.total,
            steps: summary.steps, trainingBlocks: train.blocks.count, trainingTokens: train.blocks.count * configuration.maxLength,
            trainingSeconds: summary.trainingSeconds, peakMemoryBytes: nil, perplexityBefore: before, perplexityAfter: after,
            output: output, history: summary.history)
        result.peakMemoryBytes = MemoryProbe.peakResidentBytes()
        if let peft {
            try peft.save(to: output)
        } else {
            try Checkpoint.writeWeights(of: model, to: output.appendingPathComponent(SequenceClassifier.weightsFileName),
                                        metadata: ["format": "pt", "method": configuration.method.rawValue])
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(configuration).write(to: output.appendingPathComponent(SequenceClassifier.configurationFileName), options: .atomic)
        try TrainingReport(title: "causal-LM \(configuration.method.rawValue) fine-tuning", history: summary.history,
                           summary: reportRows(configuration, result)).write(to: output.appendingPathComponent("report.html"))
        return result
    }

    /// LoRA through `PeftModel` (returned), or every parameter for `full`.
    static func applyMethod(_ configuration: TrainingConfiguration, to model: Module, modelPath: String) throws -> PeftModel? {
        if configuration.method == .full {
            model.unfreeze()
            return nil
        }
        guard configuration.method == .lora else {
            throw ConfigurationError.outOfRange(key: "method", value: configuration.method.rawValue, expected: "lora or full for causal-lm")
        }
        var lora = LoRAConfiguration(rank: configuration.rank, alpha: configuration.alpha,
                                     targetModules: .names(configuration.targetModules), dropout: configuration.dropout)
        lora.taskType = "CAUSAL_LM"
        lora.baseModelNameOrPath = modelPath
        var generator = RandomGenerator(seed: configuration.seed)
        return try PeftModel(model: model, configuration: lora, generator: &generator)
    }

    /// Loads a trained decoder: the base from `modelPath`, then the adapter (or trained
    /// weights) in `trainedFolder` when given.
    public static func load(modelPath: String, trainedFolder: URL?) throws -> (model: any CausalLanguageModel, tokenizer: ByteLevelBPETokenizer) {
        let (model, tokenizer) = try loadDecoder(from: URL(fileURLWithPath: modelPath))
        guard let trainedFolder else { return (model, tokenizer) }
        if FileManager.default.fileExists(atPath: trainedFolder.appendingPathComponent(AdapterFile.configurationName).path) {
            _ = try PeftModel.load(from: trainedFolder, into: model)
        } else {
            let url = trainedFolder.appendingPathComponent(SequenceClassifier.weightsFileName)
            guard FileManager.default.fileExists(atPath: url.path) else { throw DataError.missingFile(file: url.path) }
            try Checkpoint.loadWeights(into: model, from: url)
        }
        return (model, tokenizer)
    }

    static func reportRows(_ configuration: TrainingConfiguration, _ result: CausalLMRunResult) -> [(String, String)] {
        var rows: [(String, String)] = [
            ("method", configuration.method.rawValue),
            ("trainable parameters", trainableSummary(result.trainableParameters, of: result.totalParameters)),
            ("training text", "\(result.trainingBlocks) blocks of \(configuration.maxLength) tokens"),
            ("epochs, batch size", "\(configuration.epochs), \(configuration.batchSize)"),
            ("optimizer, learning rate, schedule", configuration.optimizerSummary),
            ("steps", "\(result.steps)"),
            ("training time", formatDuration(result.trainingSeconds)),
        ]
        if configuration.method == .lora {
            rows.insert(("LoRA", "r \(configuration.rank), alpha \(configuration.alpha), dropout \(configuration.dropout), targets \(configuration.targetModules.joined(separator: ", "))"), at: 1)
        }
        if let bytes = result.peakMemoryBytes { rows.append(("peak memory", formatMebibytes(bytes))) }
        if let before = result.perplexityBefore, let after = result.perplexityAfter {
            rows.append(("validation perplexity before / after", String(format: "%.3f / %.3f (%d tokens)", before.perplexity, after.perplexity, after.tokenCount)))
        }
        return rows
    }
}
