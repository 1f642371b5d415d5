import Foundation
import TensorCore

/// The figures of one training run.
public struct ClassificationRunResult: Sendable {
    public var method: TrainingConfiguration.Method
    public var trainableParameters: Int
    public var totalParameters: Int
    public var steps: Int
    public var stoppedEarly: Bool
    public var trainingSeconds: Double
    /// Peak resident memory during the run (model loading included), when the system tells.
    public var peakMemoryBytes: Int?
    /// Resident memory when the run started (runtime, data): the part of the peak the
    /// estimate does not model.
    public var startMemoryBytes: Int?
    /// `MemoryEstimator`'s peak for one training step, predicted before training (nil for
    /// methods it does not model).
    public var estimatedPeakMemoryBytes: Int?
    public var validation: ClassificationMetrics?
    public var test: ClassificationMetrics?
    public var output: URL
    /// Step and evaluation records, for reports.
    public var history: [LogRecord]

    /// A finished run's figures: validation metrics of the best step, test and peak memory to be filled in.
    init(method: TrainingConfiguration.Method, counts: (trainable: Int, total: Int), summary: TrainingSummary, output: URL) {
        self.method = method
        trainableParameters = counts.trainable
        totalParameters = counts.total
        steps = summary.steps
        stoppedEarly = summary.stoppedEarly
        trainingSeconds = summary.trainingSeconds
        validation = summary.history.last { $0.metrics != nil && $0.step == summary.bestStep }?.metrics
        self.output = output
        history = summary.history
    }

    /// "812 MiB measured above the start, 839 MiB estimated (+3.3%)", when both are known.
    public var memoryComparison: String? {
        guard let peak = peakMemoryBytes, let estimate = estimatedPeakMemoryBytes else { return nil }
        let measured = peak - (startMemoryBytes ?? 0)
        let error = String(format: "%+.1f%%", 100 * Double(estimate - measured) / Double(Swift.max(1, measured)))
        return "\(formatMebibytes(measured)) measured above the start, \(formatMebibytes(estimate)) estimated (\(error))"
    }

    public var trainablePercentage: Double { 100 * Double(trainableParameters) / Double(max(1, totalParameters)) }

    /// The result as a JSON object (for `--json`).
    public func jsonObject() -> [String: Any] {
        func metrics(_ value: ClassificationMetrics?) -> Any {
            value.map { ["loss": $0.loss, "accuracy": $0.accuracy, "macro_f1": $0.macroF1, "count": $0.count] as [String: Any] } ?? NSNull()
        }
        return [
            "method": method.rawValue, "trainable_parameters": trainableParameters, "total_parameters": totalParameters,
            "trainable_percent": trainablePercentage, "steps": steps, "stopped_early": stoppedEarly,
            "training_seconds": trainingSeconds, "peak_memory_bytes": peakMemoryBytes.map { $0 as Any } ?? NSNull(),
            "start_memory_bytes": startMemoryBytes.map { $0 as Any } ?? NSNull(),
            "estimated_peak_memory_bytes": estimatedPeakMemoryBytes.map { $0 as Any } ?? NSNull(),
            "validation": metrics(validation), "test": metrics(test), "output": output.path,
        ]
    }
}

/// One fine-tuning run of a sequence classifier from files to saved outputs: builds the model
/// with its method, tokenises, trains with checkpoints, evaluates, and writes the trained
/// parameters, `labels.json`, `training_config.json`, `log.jsonl` and `report.html` to `output`.
///
/// ```swift
/// let (train, validation) = try ClassificationRun.loadData(configuration)
/// let result = try ClassificationRun.run(configuration: configuration, modelFolder: model, train: train,
///                                        validation: validation, test: nil, output: output)
/// ```
public enum ClassificationRun {
    /// The training data and the validation data: `validation_data` when given, otherwise the
    /// training rows whose sha256(text) first byte is 1 mod 10 (about a tenth), held out.
    public static func loadData(_ configuration: TrainingConfiguration) throws -> (train: TextClassificationData, validation: TextClassificationData) {
        guard let data = configuration.data else {
            throw ConfigurationError.outOfRange(key: "data", value: "nothing", expected: "a training data file")
        }
        let all = try TextClassificationData.load(from: URL(fileURLWithPath: data), textColumn: configuration.textColumn,
                                                  labelColumn: configuration.labelColumn)
        if let validationPath = configuration.validationData {
            let validation = try TextClassificationData.load(from: URL(fileURLWithPath: validationPath), textColumn: configuration.textColumn,
                                                             labelColumn: configuration.labelColumn, labelNames: all.labelNames)
            return (all, validation)
        }
        var train = all, validation = all
        train.examples = all.examples.filter { SHA256.hash(Array($0.text.utf8))[0] % 10 != 1 }
        validation.examples = all.examples.filter { SHA256.hash(Array($0.text.utf8))[0] % 10 == 1 }
        if train.examples.isEmpty || validation.examples.isEmpty { (train, validation) = (all, all) }
        return (train, validation)
    }

    public static func run(configuration: TrainingConfiguration, modelFolder: URL, train: TextClassificationData,
                           validation: TextClassificationData?, test: TextClassificationData?, output: URL,
                           resume: Bool = false, progress: ConsoleProgress? = nil, title: String? = nil) throws -> ClassificationRunResult {
        try trainedClassifier(configuration: configuration, modelFolder: modelFolder, train: train, validation: validation, test: test,
                              output: output, resume: resume, progress: progress, title: title).result
    }

    /// `run`, also returning the trained classifier (for tests).
    static func trainedClassifier(configuration: TrainingConfiguration, modelFolder: URL, train: TextClassificationData,
                                  validation: TextClassificationData?, test: TextClassificationData?, output: URL,
                                  resume: Bool = false, progress: ConsoleProgress? = nil,
                                  title: String? = nil) throws -> (result: ClassificationRunResult, classifier: SequenceClassifier) {
        MemoryProbe.resetPeak()
        let startMemory = MemoryProbe.residentBytes()
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        let analysis = configuration.method.analysesData ? MethodAnalysis(data: train, planFolder: output, reusesSavedPlan: resume) : nil
        let classifier = try SequenceClassifier(modelFolder: modelFolder, labelCount: train.labelNames.count, configuration: configuration,
                                                analysis: analysis)
        let estimate = RunMemoryEstimate.predict(configuration, classifier: classifier, labelCount: train.labelNames.count)
        if let estimate {
            progress?.message("estimated peak memory of a training step: \(formatMebibytes(estimate.peakBytes)) "
                + "(\(estimate.peakPhase); batch \(configuration.batchSize) x \(configuration.maxLength) tokens)")
        }
        let encodedTrain = classifier.encode(train, maxLength: configuration.maxLength)
        guard !encodedTrain.isEmpty else { throw DataError.emptyDataset(file: configuration.data ?? "training data") }
        let trainer = Trainer(model: classifier.model, configuration: configuration, train: encodedTrain,
                              validation: validation.map { classifier.encode($0, maxLength: configuration.maxLength) },
                              labelCount: train.labelNames.count, paddingID: classifier.paddingID) { classifier.logits($0) }
        trainer.progress = progress
        trainer.updateMask = classifier.selective
        trainer.log = try TrainingLog(url: output.appendingPathComponent("log.jsonl"), appending: resume)
        let summary = try trainer.train(output: output, resume: resume)
        let counts = classifier.parameterCounts
        var result = ClassificationRunResult(method: configuration.method, counts: counts, summary: summary, output: output)
        if let test {
            result.test = trainer.evaluate(classifier.encode(test, maxLength: configuration.maxLength))
        }
        result.peakMemoryBytes = MemoryProbe.peakResidentBytes()
        result.startMemoryBytes = startMemory
        result.estimatedPeakMemoryBytes = estimate?.peakBytes
        trainer.log?.write(LogRecord(event: .memory, step: summary.steps, epoch: summary.history.last?.epoch ?? 0,
                                     peakMemoryBytes: result.peakMemoryBytes, startMemoryBytes: startMemory,
                                     estimatedPeakMemoryBytes: estimate?.peakBytes))
        try classifier.save(to: output, labelNames: train.labelNames, configuration: configuration)
        try TrainingReport(title: title ?? "\(configuration.method.rawValue) fine-tuning", history: summary.history,
                           summary: reportRows(configuration, result)).write(to: output.appendingPathComponent("report.html"))
        return (result, classifier)
    }

    static func reportRows(_ configuration: TrainingConfiguration, _ result: ClassificationRunResult) -> [(String, String)] {
        var rows: [(String, String)] = [
            ("method", configuration.method.rawValue),
            ("method settings", configuration.methodSummary),
            ("trainable parameters", trainableSummary(result.trainableParameters, of: result.totalParameters)),
            ("epochs, batch size, max length", "\(configuration.epochs), \(configuration.batchSize), \(configuration.maxLength)"),
            ("optimizer, learning rate, schedule", configuration.optimizerSummary),
            ("steps", "\(result.steps)\(result.stoppedEarly ? " (stopped early)" : "")"),
            ("training time", formatDuration(result.trainingSeconds)),
        ]
        if let bytes = result.peakMemoryBytes { rows.append(("peak memory", formatMebibytes(bytes))) }
        if let memory = result.memoryComparison { rows.append(("peak memory above the start / estimated", memory)) }
        if let validation = result.validation {
            rows.append(("best validation accuracy / macro-F1", String(format: "%.4f / %.4f", validation.accuracy, validation.macroF1)))
        }
        if let test = result.test {
            rows.append(("test accuracy / macro-F1 / loss", String(format: "%.4f / %.4f / %.4f", test.accuracy, test.macroF1, test.loss)))
        }
        return rows
    }
}
