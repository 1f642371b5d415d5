import Foundation
import Models
import Training

/// `peft train --task image-classification` and `--task causal-lm`.
extension Train {
    func runImageClassification(_ configuration: TrainingConfiguration) throws {
        let (train, validation, test) = try ImageClassificationRun.loadData(configuration)
        let output = URL(fileURLWithPath: configuration.output!)
        if !json {
            print("training \(configuration.method.rawValue) on \(train.count) images at \(configuration.imageSize) px, "
                + "\(train.labelCount) labels" + (validation.map { ", \($0.count) for validation" } ?? "")
                + (test.map { ", \($0.count) for test" } ?? ""))
            fflush(nil)   // flush standard output before the progress lines on standard error
        }
        let result = try ImageClassificationRun.run(configuration: configuration, train: train, validation: validation, test: test,
                                                    output: output, resume: resume, progress: ConsoleProgress(lineEvery: configuration.logEvery))
        if json { return try printJSON(result.jsonObject()) }
        printRunSummary(result, extraRows: [
            ["test accuracy", result.test.map { String(format: "%.4f", $0.accuracy) } ?? "n/a"],
            ["test macro-F1", result.test.map { String(format: "%.4f", $0.macroF1) } ?? "n/a"],
        ])
    }

    func runCausalLM(_ configuration: TrainingConfiguration) throws {
        let output = URL(fileURLWithPath: configuration.output!)
        let result = try CausalLMRun.run(configuration: configuration, output: output, resume: resume,
                                         progress: ConsoleProgress(lineEvery: configuration.logEvery))
        if json { return try printJSON(result.jsonObject()) }
        func perplexity(_ meter: PerplexityMeter?) -> String { meter.map { String(format: "%.3f", $0.perplexity) } ?? "n/a" }
        print(formatTable(["", "value"], [
            ["trainable parameters", "\(formatCount(result.trainableParameters)) (\(String(format: "%.3f", result.trainablePercentage))%)"],
            ["training blocks", "\(formatCount(result.trainingBlocks)) of \(configuration.maxLength) tokens"],
            ["steps", "\(result.steps)"],
            ["training time", formatDuration(result.trainingSeconds)],
            ["peak memory", result.peakMemoryBytes.map(formatBytes) ?? "n/a"],
            ["validation perplexity before", perplexity(result.perplexityBefore)],
            ["validation perplexity after", perplexity(result.perplexityAfter)],
        ]))
        print("saved to \(output.path) (report.html, log.jsonl)")
    }
}
