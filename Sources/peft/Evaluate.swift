import ArgumentParser
import Foundation
import Training

/// `peft evaluate`: metrics of a base model with a trained adapter (or trained weights) on labelled data.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a fine-tuned classifier on labelled text: loss, accuracy, macro-F1.")

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "The output folder of `peft train` (adapter or trained weights, labels.json).") var adapter: String
    @Option(help: "Labelled data: .jsonl, .csv or .tsv.") var data: String
    @Option(help: "The text column or JSON key (default: as trained).") var textColumn: String?
    @Option(help: "The label column or JSON key (default: as trained).") var labelColumn: String?
    @Option(help: "Tokens per example (default: as trained).") var maxLength: Int?
    @Option(help: "Examples per batch.") var batchSize = 64
    @Flag(help: "Print one JSON object with the metrics.") var json = false

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size \(batchSize) is out of range; expected an integer >= 1") }
        if let maxLength, maxLength < 2 { throw ValidationError("--max-length \(maxLength) is out of range; expected an integer >= 2") }
    }

    func run() throws {
        let trained = URL(fileURLWithPath: adapter)
        let (classifier, labelNames) = try SequenceClassifier.load(modelFolder: modelOptions.modelURL, trainedFolder: trained)
        let configurationURL = trained.appendingPathComponent(SequenceClassifier.configurationFileName)
        let trainedWith = (try? TrainingConfiguration.load(from: configurationURL)) ?? TrainingConfiguration()
        let dataset = try TextClassificationData.load(from: URL(fileURLWithPath: data), textColumn: textColumn ?? trainedWith.textColumn,
                                                      labelColumn: labelColumn ?? trainedWith.labelColumn, labelNames: labelNames)
        let started = Date()
        let metrics = evaluateClassifier(classifier.encode(dataset, maxLength: maxLength ?? trainedWith.maxLength),
                                         labelCount: labelNames.count, batchSize: batchSize, paddingID: classifier.paddingID,
                                         model: classifier.model) { classifier.logits($0) }
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
}
