import ArgumentParser
import Formats
import Foundation
import Models
import NN
import PEFT
import TensorCore

/// `peft analyze`: sensitivity of every parameter for the user's data, and a plan under a budget.
struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score which layers and parameters matter for your data, and plan an adapter under a budget.",
        discussion: """
        Runs the examples of --batches batches of --data (a seeded shuffle) through the model with a fresh \
        classification head (evaluation mode, no dropout), one example per backward pass, and accumulates, per \
        parameter element, |gradient x weight| (Taylor), the squared gradient (the per-example empirical Fisher, \
        as FISH mask and `peft train --method selective|planned-lora` use it) and |weight|. Prints the most \
        sensitive modules and layers and writes sensitivity.json and sensitivity.svg (a layers x module-kinds \
        heat map) to --output. With --plan and a budget it also writes adapter_config.json (LoRA: target_modules \
        and rank_pattern) or plan.json (selective: the mask density).
        """)

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Labelled examples: a CSV with a header row, or JSONL.", completion: .file()) var data: String
    @Option(help: "Column (or JSON key) holding the text.") var textColumn = "text"
    @Option(help: "Column (or JSON key) holding the label.") var labelColumn = "label"
    @Option(help: "Batches of --batch-size examples to score (1-10000); each example is one gradient sample.") var batches = 8
    @Option(help: "Examples per batch (1-4096).") var batchSize = 16
    @Option(help: "Tokens per example, including [CLS] and [SEP] (2-512).") var maxLength = 128
    @Option(help: "Score that ranks and plans: taylor, fisher or magnitude.") var score = "fisher"
    @Option(help: "Rows to print in the module ranking.") var top = 10
    @Option(help: "Folder for sensitivity.json, sensitivity.svg and the plan.", completion: .directory) var output = "."
    @Flag(help: "Also plan an adapter under --budget-params or --budget-percent.") var plan = false
    @Option(help: "Budget in trainable parameters.") var budgetParams: Int?
    @Option(help: "Budget in percent of the model's parameters (e.g. 0.3).") var budgetPercent: Double?
    @Option(help: "Planned method: lora or selective.") var method = "lora"
    @Flag(help: "Print one JSON object instead of tables.") var json = false

    func validate() throws {
        guard (1...10000).contains(batches) else { throw ValidationError("--batches must be 1-10000, got \(batches)") }
        guard (1...4096).contains(batchSize) else { throw ValidationError("--batch-size must be 1-4096, got \(batchSize)") }
        guard (2...512).contains(maxLength) else { throw ValidationError("--max-length must be 2-512, got \(maxLength)") }
        guard SensitivityScore(rawValue: score) != nil else { throw ValidationError("--score must be taylor, fisher or magnitude, got '\(score)'") }
        guard ["lora", "selective"].contains(method) else { throw ValidationError("--method must be lora or selective, got '\(method)'") }
        if plan {
            guard (budgetParams == nil) != (budgetPercent == nil) else {
                throw ValidationError("--plan needs exactly one of --budget-params and --budget-percent")
            }
            if let budgetParams, budgetParams <= 0 { throw ValidationError("--budget-params must be positive, got \(budgetParams)") }
            if let budgetPercent, !(budgetPercent > 0 && budgetPercent <= 100) {
                throw ValidationError("--budget-percent must lie in (0, 100], got \(budgetPercent)")
            }
        } else if budgetParams != nil || budgetPercent != nil {
            throw ValidationError("--budget-params and --budget-percent need --plan")
        }
    }

    func run() throws {
        let folder = modelOptions.modelURL
        let examples = try AnalysisData(url: URL(fileURLWithPath: data), textColumn: textColumn, labelColumn: labelColumn)
        guard examples.labelNames.count >= 2 else {
            throw ValidationError("--label-column '\(labelColumn)' has one value (\(examples.labelNames)); need at least two labels")
        }
        let configuration = try BertConfiguration.load(from: folder)
        let tokenizer = try WordPieceTokenizer(folder: folder)
        var generator = RandomGenerator(seed: 0)
        let classifier = BertForSequenceClassification(configuration: configuration, labelCount: examples.labelNames.count,
                                                       generator: &generator)
        try classifier.bert.loadWeights(from: folder)
        classifier.setTraining(false)

        // A seeded shuffle, so the scored batches mix labels but repeat from run to run.
        var order = Array(examples.texts.indices)
        for index in order.indices.reversed() where index > 0 { order.swapAt(index, Int(generator.next() % UInt64(index + 1))) }
        let analysis = SensitivityAnalysis(model: classifier)
        var losses: [Float] = []
        let picked = order.prefix(batches * batchSize)
        for index in picked {
            let example = TokenBatch(tokenizer.encodeBatch([examples.texts[index]], maxLength: maxLength, padding: .longest))
            losses.append(analysis.accumulate { crossEntropy(logits: classifier(example), targets: [examples.labels[index]]) })
            if !json { FileHandle.standardError.write(Data("\rscored example \(losses.count)/\(picked.count)".utf8)) }
        }
        if !json { FileHandle.standardError.write(Data("\n".utf8)) }
        let report = analysis.report()
        let outputFolder = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: outputFolder, withIntermediateDirectories: true)
        try report.jsonData().write(to: outputFolder.appendingPathComponent("sensitivity.json"), options: .atomic)
        let kind = SensitivityScore(rawValue: score)!
        try Data(report.heatMapSVG(score: kind).utf8).write(to: outputFolder.appendingPathComponent("sensitivity.svg"), options: .atomic)

        var summary: [String: Any] = [
            "examples": losses.count, "mean_loss": losses.reduce(0, +) / Float(Swift.max(losses.count, 1)), "score": score,
            "labels": examples.labelNames, "sensitivity_json": outputFolder.appendingPathComponent("sensitivity.json").path,
            "sensitivity_svg": outputFolder.appendingPathComponent("sensitivity.svg").path,
            "modules": report.modules(rankedBy: kind).prefix(top).map { ["name": $0.name, "total": $0.total[kind], "mean": $0.mean[kind],
                                                                          "parameters": $0.parameterCount] },
            "layers": report.layers(rankedBy: kind).map { ["name": $0.name, "total": $0.total[kind], "mean": $0.mean[kind]] },
        ]
        if !json { printRanking(report, kind: kind) }
        if plan {
            let total = classifier.parameterCounts().total
            let budget = budgetParams ?? Int((budgetPercent! / 100 * Double(total)).rounded())
            summary["plan"] = try writePlan(report: report, budget: budget, total: total, folder: outputFolder, kind: kind)
        }
        if json { try printJSON(summary) }
    }

    private func printRanking(_ report: SensitivityReport, kind: SensitivityScore) {
        print("most sensitive modules (\(score), \(report.sampleCount) examples):")
        print(formatTable(["module", "parameters", "total", "per parameter"], report.modules(rankedBy: kind).prefix(top).map {
            [$0.name, formatCount($0.parameterCount), String(format: "%.3e", $0.total[kind]), String(format: "%.3e", $0.mean[kind])]
        }))
        print("")
        print(formatTable(["layer", "total", "per parameter"], report.layers(rankedBy: kind).map {
            [$0.name, String(format: "%.3e", $0.total[kind]), String(format: "%.3e", $0.mean[kind])]
        }))
        print("\nwrote sensitivity.json and sensitivity.svg to \(output)")
    }

    /// Plans under `budget`, writes the plan and returns its summary.
    private func writePlan(report: SensitivityReport, budget: Int, total: Int, folder: URL,
                           kind: SensitivityScore) throws -> [String: Any] {
        if method == "selective" {
            let (density, count) = BudgetPlanner.sparseDensity(report: report, budget: budget)
            let summary: [String: Any] = ["method": "selective", "budget": budget, "density": density, "scored_parameters": count,
                                          "score": score]
            try JSONSerialization.data(withJSONObject: summary, options: [.prettyPrinted, .sortedKeys])
                .write(to: folder.appendingPathComponent("plan.json"), options: .atomic)
            if !json { print("\nplan (selective): density \(String(format: "%.5f", density)) = \(formatCount(budget)) of \(formatCount(count)) parameters; wrote plan.json") }
            return summary
        }
        let plan = try BudgetPlanner.planLoRA(report: report, budget: budget, score: kind)
        var configuration = plan.configuration(taskType: "SEQ_CLS")
        configuration.baseModelNameOrPath = modelOptions.model
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(configuration.json).write(to: folder.appendingPathComponent("adapter_config.json"), options: .atomic)
        if !json {
            print("\nplan (LoRA) for a budget of \(formatCount(budget)) parameters (\(String(format: "%.3f", 100 * Double(budget) / Double(total)))% of \(formatCount(total))):")
            print(formatTable(["module", "rank", "parameters"], plan.targets.map { [$0.path, String($0.rank), formatCount($0.parameterCount)] }
                + [["total", "", formatCount(plan.parameterCount)]]))
            print("the classification head trains as well (modules_to_save); wrote adapter_config.json")
        }
        return ["method": "lora", "budget": budget, "parameters": plan.parameterCount,
                "targets": plan.targets.map { ["module": $0.path, "rank": $0.rank, "parameters": $0.parameterCount] },
                "adapter_config": folder.appendingPathComponent("adapter_config.json").path]
    }
}
