import ArgumentParser
import Formats
import Foundation
import Models
import Training

/// `peft evaluate`: metrics of a base model with a trained adapter (or trained weights) on
/// labelled text or images, or the perplexity of a decoder on plain text.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a fine-tuned model: loss, accuracy and macro-F1 of a classifier, or a decoder's perplexity.",
        discussion: """
            sequence-classification (default): --model is a Hugging Face folder, --data labelled .jsonl/.csv/.tsv. \
            image-classification: --model the EfficientNet-Lite0 .pth (or its folder), --data IDX images (file or \
            folder, the t10k files first) or an image CSV. causal-lm: --model a GGUF file or decoder folder, --data \
            plain text cut into blocks of --max-length tokens; without --adapter the base model is measured.
            """)

    @Option(help: "sequence-classification, image-classification or causal-lm.") var task = "sequence-classification"
    @Option(help: "The base model: a Hugging Face folder, an EfficientNet .pth, or a GGUF file (see the discussion).",
            completion: .file()) var model: String
    @Option(help: "The output folder of `peft train` (adapter or trained weights, labels.json).") var adapter: String?
    @Option(help: "The data to evaluate on.") var data: String
    @Option(help: "The text column or JSON key (default: as trained).") var textColumn: String?
    @Option(help: "The label column or JSON key (default: as trained).") var labelColumn: String?
    @Option(help: "Tokens per example or block (default: as trained).") var maxLength: Int?
    @Option(help: "Evaluate on at most this many examples (default all).") var limit: Int?
    @Option(help: "Examples per batch.") var batchSize = 64
    @Flag(help: "Print one JSON object with the metrics.") var json = false

    func validate() throws {
        guard TrainingConfiguration.tasks.contains(task) else {
            throw ValidationError("--task \(task) is not one of \(TrainingConfiguration.tasks.joined(separator: ", "))")
        }
        guard batchSize >= 1 else { throw ValidationError("--batch-size \(batchSize) is out of range; expected an integer >= 1") }
        if let maxLength, maxLength < 2 { throw ValidationError("--max-length \(maxLength) is out of range; expected an integer >= 2") }
        if let limit, limit < 1 { throw ValidationError("--limit \(limit) is out of range; expected an integer >= 1") }
        if task == "sequence-classification" { try ModelOptions.validateFolder(model) }
        if adapter == nil && task != "causal-lm" { throw ValidationError("--adapter is required for \(task)") }
    }

    func run() throws {
        let started = Date()
        if task == "causal-lm" { return try evaluateDecoder(started: started) }
        let trained = URL(fileURLWithPath: adapter!)
        let metrics: ClassificationMetrics, labelNames: [String]
        if task == "image-classification" {
            let loaded = try ImageClassifier.load(checkpoint: URL(fileURLWithPath: model), trainedFolder: trained)
            labelNames = loaded.labelNames
            var dataset = try ImageDataset.load(from: data, preferring: ["t10k", "test"])
            if let limit { dataset = dataset.balancedSubset(limit, seed: loaded.configuration.seed) }
            metrics = try loaded.classifier.evaluate(dataset, batchSize: batchSize, file: data)
        } else {
            let (classifier, names) = try SequenceClassifier.load(modelFolder: URL(fileURLWithPath: model), trainedFolder: trained)
            labelNames = names
            let configurationURL = trained.appendingPathComponent(SequenceClassifier.configurationFileName)
            let trainedWith = (try? TrainingConfiguration.load(from: configurationURL)) ?? TrainingConfiguration()
            var dataset = try TextClassificationData.load(from: URL(fileURLWithPath: data), textColumn: textColumn ?? trainedWith.textColumn,
                                                          labelColumn: labelColumn ?? trainedWith.labelColumn, labelNames: labelNames)
            if let limit { dataset.examples = Array(dataset.examples.prefix(limit)) }
            metrics = evaluateClassifier(classifier.encode(dataset, maxLength: maxLength ?? trainedWith.maxLength),
                                         labelCount: labelNames.count, batchSize: batchSize, paddingID: classifier.paddingID,
                                         model: classifier.model) { classifier.logits($0) }
        }
        let seconds = Date().timeIntervalSince(started)
        if json {
            try printJSON(["loss": metrics.loss, "accuracy": metrics.accuracy, "macro_f1": metrics.macroF1,
                           "count": metrics.count, "seconds": seconds, "labels": labelNames] as [String: Any])
            return
        }
        print(formatTable(["metric", "value"], [
            ["examples", formatCount(metrics.count)],
            ["loss", String(format: "%.4f", metrics.loss)],
            ["accuracy", String(format: "%.4f", metrics.accuracy)],
            ["macro-F1", String(format: "%.4f", metrics.macroF1)],
        ]))
    }

    /// Perplexity of the decoder (with the adapter when given) on `data`.
    private func evaluateDecoder(started: Date) throws {
        let trained = adapter.map { URL(fileURLWithPath: $0) }
        let trainedWith = try trained.flatMap { folder -> TrainingConfiguration? in
            let url = folder.appendingPathComponent(SequenceClassifier.configurationFileName)
            return FileManager.default.fileExists(atPath: url.path) ? try TrainingConfiguration.load(from: url) : nil
        } ?? TrainingConfiguration()
        let (decoder, tokenizer) = try CausalLMRun.load(modelPath: model, trainedFolder: trained)
        let text = try CausalLMRun.loadText(data, tokenizer: tokenizer, blockLength: maxLength ?? trainedWith.maxLength,
                                            limit: limit ?? 0, seed: trainedWith.seed)
        let meter = CausalLMRun.perplexity(of: decoder, blocks: text.blocks)
        let seconds = Date().timeIntervalSince(started)
        if json {
            try printJSON(["perplexity": meter.perplexity, "loss": meter.meanLoss, "tokens": meter.tokenCount,
                           "blocks": text.blocks.count, "seconds": seconds] as [String: Any])
            return
        }
        print(formatTable(["metric", "value"], [
            ["blocks", "\(formatCount(text.blocks.count)) of \(maxLength ?? trainedWith.maxLength) tokens"],
            ["predicted tokens", formatCount(meter.tokenCount)],
            ["loss (mean NLL)", String(format: "%.4f", meter.meanLoss)],
            ["perplexity", String(format: "%.3f", meter.perplexity)],
        ]))
    }
}
