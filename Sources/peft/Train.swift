import ArgumentParser
import Foundation
import Training

/// `peft train`: fine-tunes a sequence classifier with any of the library's methods.
/// Options override `--config`; what neither gives takes the defaults shown.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fine-tune a model on labelled text with LoRA, IA3, prompt or prefix tuning, adapters, BitFit, selective or full fine-tuning.",
        discussion: """
            Methods (the classifier head always trains): lora, planned-lora (LoRA ranks planned from Fisher \
            scores at the budget of uniform LoRA r=--rank on --target-modules, or --budget-params), ia3, \
            prompt-tuning and prefix-tuning (--num-virtual-tokens), houlsby and pfeiffer bottleneck adapters \
            (--reduction-factor), bitfit (biases), norm (LayerNorm parameters), selective (the top --density \
            of encoder elements by --mask-score: by default how far --movement-steps of full fine-tuning move them), full, head.
            Writes to --output: the trained parameters (a PEFT adapter folder for the adapter methods: \
            adapter_config.json + adapter_model.safetensors; sparse_diff.safetensors + trained_weights.safetensors \
            for selective; trained_weights.safetensors for full and head), labels.json, training_config.json, \
            log.jsonl (one JSON object per line), report.html (loss and metric curves), checkpoint.safetensors \
            (for --resume) and best.safetensors (the best weights on validation); selective also writes its mask \
            (selective_mask.safetensors) and planned-lora its plan (lora_plan.json), which --resume reuses.
            --config FILE (JSON or flat YAML) takes the same settings with `_` for `-` (learning_rate: 5e-4); \
            an unknown key is an error. Without --validation-data, a tenth of the training rows (by sha256 of \
            the text) is held out for validation.
            """)

    @Option(help: "A Hugging Face model folder (config.json, model.safetensors, tokenizer.json or vocab.txt); for image-classification an EfficientNet-Lite0 .pth (or its folder); for causal-lm a GGUF file or decoder folder.") var model: String?
    @Option(help: "Training data: .jsonl, .csv or .tsv with a text and a label column; IDX images (file or folder) or image CSV; plain text for causal-lm.") var data: String?
    @Option(help: "Validation data in the same format (default: a tenth of --data held out).") var validationData: String?
    @Option(help: "The output folder.") var output: String?
    @Option(help: "A JSON or YAML file with these settings (options given here override it).") var config: String?
    @Option(help: "sequence-classification (default), image-classification or causal-lm.") var task: String?
    @Option(help: "lora, planned-lora, ia3, prompt-tuning, prefix-tuning, houlsby, pfeiffer, bitfit, norm, selective, full or head (default lora).") var method: String?
    @Option(help: "LoRA rank r; for planned-lora the uniform rank whose budget it matches (default 8).") var rank: Int?
    @Option(help: "LoRA alpha; planned-lora keeps alpha/r for every module (default 16).") var alpha: Double?
    @Option(help: "LoRA dropout in [0, 1) (default 0.1).") var dropout: Double?
    @Option(help: "Modules LoRA adapts, comma-separated; for planned-lora the modules of the budget (default query,value).") var targetModules: String?
    @Option(help: "Virtual tokens of prompt-tuning and prefix-tuning (default 20).") var numVirtualTokens: Int?
    @Option(help: "Hidden size / bottleneck size of houlsby and pfeiffer adapters (default 16).") var reductionFactor: Double?
    @Option(help: "Training batches the sensitivity analysis of selective and planned-lora scores (default 8).") var analysisBatches: Int?
    @Option(help: "Fraction of encoder elements selective trains, in (0, 1] (default 0.005).") var density: Double?
    @Option(help: "How selective takes the top --density: global (tensors compete) or per-tensor (default global).") var maskScope: String?
    @Option(help: "What selective ranks elements by: movement (default: how far --movement-steps of full fine-tuning move each element), fisher (per-example squared gradient over --analysis-batches batches), taylor (|gradient × weight|) or magnitude.") var maskScore: String?
    @Option(help: "Full fine-tuning steps of --mask-score movement (default 60).") var movementSteps: Int?
    @Option(help: "Learning rate of those steps (default 2e-4).") var movementLearningRate: Float?
    @Option(help: "Trainable-parameter budget of planned-lora (default: what uniform LoRA r=--rank on --target-modules trains).") var budgetParams: Int?
    @Option(help: "The text column or JSON key (default text).") var textColumn: String?
    @Option(help: "The label column or JSON key (default label).") var labelColumn: String?
    @Option(help: "Tokens per example, special tokens included; longer texts are truncated (default 128).") var maxLength: Int?
    @Option(help: "Passes over the training data (default 3).") var epochs: Int?
    @Option(help: "Examples per batch (default 32).") var batchSize: Int?
    @Option(help: "Examples per evaluation batch (default 64).") var evalBatchSize: Int?
    @Option(help: "Peak learning rate (default 5e-4).") var learningRate: Float?
    @Option(help: "adamw or sgd (default adamw).") var optimizer: String?
    @Option(help: "SGD momentum (default 0.9).") var momentum: Float?
    @Option(help: "Weight decay (default 0.01; decoupled for AdamW).") var weightDecay: Float?
    @Option(help: "Learning-rate schedule after warm-up: constant, linear or cosine (default linear).") var schedule: String?
    @Option(help: "Fraction of the steps spent warming up (default 0.1).") var warmupRatio: Float?
    @Option(help: "Batches whose gradients are summed per optimizer step (default 1).") var gradientAccumulation: Int?
    @Option(help: "Clip the gradient norm to this; 0 turns clipping off (default 1.0).") var maxGradNorm: Float?
    @Option(help: "Evaluate every N optimizer steps; 0 evaluates after each epoch (default 0).") var evalEvery: Int?
    @Option(help: "Stop after N evaluations without improvement; 0 never stops early (default 0).") var earlyStoppingPatience: Int?
    @Option(help: "Validation metric for early stopping and the best weights: accuracy, macro_f1 or loss (default accuracy).") var metric: String?
    @Option(help: "Write a resumable checkpoint every N optimizer steps (default 50).") var checkpointEvery: Int?
    @Option(help: "Log a training line every N steps (default 10).") var logEvery: Int?
    @Option(help: "Random seed for the head, LoRA factors, shuffling and dropout (default 42).") var seed: UInt64?
    @Option(help: "Images are resized to this square size (image-classification; default 224).") var imageSize: Int?
    @Option(help: "Train on this many examples, a seeded subset (class-balanced for images; default all).") var trainLimit: Int?
    @Option(help: "Validate on this many examples, a seeded subset (default all).") var validationLimit: Int?
    @Option(help: "Test data evaluated once at the end (image-classification: IDX file or folder, CSV).") var testData: String?
    @Flag(help: "Continue the run whose checkpoint is in --output.") var resume = false
    @Flag(help: "Print one JSON object with the results instead of text.") var json = false

    func validate() throws {
        do { _ = try settings() } catch let error as ValidationError { throw error } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        let configuration = try settings()
        if configuration.task == "image-classification" { return try runImageClassification(configuration) }
        if configuration.task == "causal-lm" { return try runCausalLM(configuration) }
        let (train, validation) = try ClassificationRun.loadData(configuration)
        let output = URL(fileURLWithPath: configuration.output!)
        let progress = ConsoleProgress(lineEvery: configuration.logEvery)
        if !json {
            print("training \(configuration.method.rawValue) on \(train.examples.count) examples "
                + "(\(validation.examples.count) for validation), labels \(train.labelNames.joined(separator: ", "))")
            print("method: \(configuration.methodSummary)")
            fflush(nil)   // flush standard output before the progress lines on standard error
        }
        let result = try ClassificationRun.run(configuration: configuration, modelFolder: URL(fileURLWithPath: configuration.model!),
                                               train: train, validation: validation, test: nil, output: output,
                                               resume: resume, progress: progress)
        if json {
            try printJSON(result.jsonObject())
            return
        }
        printRunSummary(result, extraRows: [
            ["validation macro-F1", result.validation.map { String(format: "%.4f", $0.macroF1) } ?? "n/a"],
        ])
    }

    /// The configuration file, overridden by the options given, checked.
    func settings() throws -> TrainingConfiguration {
        var settings = try config.map { try TrainingConfiguration.load(from: URL(fileURLWithPath: $0)) } ?? TrainingConfiguration()
        func set<Value>(_ value: Value?, _ keyPath: WritableKeyPath<TrainingConfiguration, Value>) { if let value { settings[keyPath: keyPath] = value } }
        func set<Value>(_ value: Value?, _ keyPath: WritableKeyPath<TrainingConfiguration, Value?>) { if let value { settings[keyPath: keyPath] = value } }
        func choice<Choice: RawRepresentable & CaseIterable>(_ value: String?, _ option: String) throws -> Choice? where Choice.RawValue == String {
            guard let value else { return nil }
            guard let parsed = Choice(rawValue: value) else {
                throw ConfigurationError.outOfRange(key: option, value: value, expected: Choice.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return parsed
        }
        set(model, \.model); set(data, \.data); set(validationData, \.validationData); set(output, \.output)
        set(task, \.task); set(try choice(method, "method"), \.method); set(rank, \.rank); set(alpha, \.alpha)
        set(dropout, \.dropout); set(targetModules?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }, \.targetModules)
        set(numVirtualTokens, \.numVirtualTokens); set(reductionFactor, \.reductionFactor); set(analysisBatches, \.analysisBatches)
        set(density, \.density); set(try choice(maskScope, "mask-scope"), \.maskScope); set(try choice(maskScore, "mask-score"), \.maskScore)
        set(movementSteps, \.movementSteps); set(movementLearningRate, \.movementLearningRate); set(budgetParams, \.budgetParams)
        set(textColumn, \.textColumn); set(labelColumn, \.labelColumn); set(maxLength, \.maxLength); set(epochs, \.epochs)
        set(batchSize, \.batchSize); set(evalBatchSize, \.evaluationBatchSize); set(learningRate, \.learningRate)
        set(try choice(optimizer, "optimizer"), \.optimizer); set(momentum, \.momentum); set(weightDecay, \.weightDecay)
        set(schedule, \.schedule); set(warmupRatio, \.warmupRatio); set(gradientAccumulation, \.gradientAccumulation)
        set(maxGradNorm, \.maxGradNorm); set(evalEvery, \.evalEvery); set(earlyStoppingPatience, \.earlyStoppingPatience)
        set(try choice(metric, "metric"), \.metric); set(checkpointEvery, \.checkpointEvery); set(logEvery, \.logEvery); set(seed, \.seed)
        set(imageSize, \.imageSize); set(trainLimit, \.trainLimit); set(validationLimit, \.validationLimit); set(testData, \.testData)
        for (key, value) in [("model", settings.model), ("data", settings.data), ("output", settings.output)] where value == nil {
            throw ValidationError("--\(key) is required (as an option or in --config)")
        }
        try settings.validate()
        return settings
    }
}

/// The table `peft train` prints after a classification run, then where the outputs went.
func printRunSummary(_ result: ClassificationRunResult, extraRows: [[String]]) {
    print(formatTable(["", "value"], [
        ["trainable parameters", "\(formatCount(result.trainableParameters)) (\(String(format: "%.3f", result.trainablePercentage))%)"],
        ["steps", "\(result.steps)\(result.stoppedEarly ? " (stopped early)" : "")"],
        ["training time", formatDuration(result.trainingSeconds)],
        ["peak memory", result.peakMemoryBytes.map(formatBytes) ?? "n/a"],
    ] + (result.memoryComparison.map { [["peak above the start / estimate", $0]] } ?? []) + [

        ["validation accuracy", result.validation.map { String(format: "%.4f", $0.accuracy) } ?? "n/a"],
    ] + extraRows))
    print("saved to \(result.output.path) (report.html, log.jsonl)")
}
