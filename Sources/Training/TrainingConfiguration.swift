import Foundation
import PEFT

/// Every setting of a training run. Coding keys are the command-line option names with `_`
/// for `-` (`learning_rate` for `--learning-rate`), so a `--config` file (JSON or flat YAML)
/// and the options say the same things; a key that is not a setting is an error naming it.
///
/// ```swift
/// var configuration = try TrainingConfiguration.load(from: URL(fileURLWithPath: "run.yaml"))
/// configuration.epochs = 1
/// try configuration.validate()
/// ```
public struct TrainingConfiguration: Codable, Sendable, Equatable {
    public enum Method: String, Codable, Sendable, CaseIterable {
        /// LoRA adapters on the target modules, plus the classifier.
        case lora
        /// Every parameter.
        case full
        /// The classifier only, on a frozen encoder.
        case head
        /// IA3 scaling vectors on keys, values and feed-forward inputs (PEFT's BERT defaults), plus the classifier.
        case ia3
        /// `num_virtual_tokens` learned input embeddings, plus the classifier.
        case promptTuning = "prompt-tuning"
        /// `num_virtual_tokens` learned keys and values in every attention layer, plus the classifier.
        case prefixTuning = "prefix-tuning"
        /// Bottleneck adapters after attention and after the feed-forward block, plus the classifier.
        case houlsby
        /// Bottleneck adapters after the feed-forward block, plus the classifier.
        case pfeiffer
        /// Every bias of the encoder, plus the classifier.
        case bitFit = "bitfit"
        /// The LayerNorm weights and biases of the encoder, plus the classifier.
        case norm
        /// The `density` fraction of encoder elements with the highest `mask_score` (a fixed
        /// sparse mask), plus the classifier.
        case selective
        /// LoRA with target modules and ranks planned from the Fisher scores over
        /// `analysis_batches` batches, within the budget of uniform LoRA r=`rank` on
        /// `target_modules` (or `budget_params`), plus the classifier.
        case plannedLoRA = "planned-lora"

        /// Whether the method scores the training data before training (selective, planned-lora).
        public var analysesData: Bool { self == .selective || self == .plannedLoRA }
    }

    public enum OptimizerKind: String, Codable, Sendable, CaseIterable {
        case adamw, sgd
    }

    public enum Metric: String, Codable, Sendable, CaseIterable {
        case accuracy, macroF1 = "macro_f1", loss
    }

    public var model: String?
    public var data: String?
    public var validationData: String?
    public var output: String?
    public var task = "sequence-classification"
    public var method = Method.lora
    public var rank = 8
    public var alpha: Double = 16
    public var dropout: Double = 0.1
    public var targetModules = ["query", "value"]
    /// Virtual tokens of prompt and prefix tuning.
    public var numVirtualTokens = 20
    /// Hidden size / bottleneck size of Houlsby and Pfeiffer adapters.
    public var reductionFactor: Double = 16
    /// Training batches the sensitivity analysis of selective and planned-lora scores.
    public var analysisBatches = 8
    /// Fraction of encoder elements selective fine-tuning trains.
    public var density: Double = 0.005
    /// How selective takes its top fraction: `global` (tensors compete) or `per-tensor`
    /// (every encoder tensor trains its own `density` share).
    public var maskScope = SparseMask.Scope.global
    /// What selective ranks elements by.
    public var maskScore = MaskScore.movement
    /// Steps and learning rate of the full fine-tuning probe behind `mask_score: movement`.
    public var movementSteps = 60
    public var movementLearningRate: Float = 2e-4
    /// Trainable-parameter budget of planned-lora (nil: uniform LoRA r=`rank` on `target_modules`).
    public var budgetParams: Int?
    public var textColumn = "text"
    public var labelColumn = "label"
    public var maxLength = 128
    public var epochs = 3
    public var batchSize = 32
    public var evaluationBatchSize = 64
    public var learningRate: Float = 5e-4
    public var optimizer = OptimizerKind.adamw
    public var momentum: Float = 0.9
    public var weightDecay: Float = 0.01
    public var schedule = "linear"
    public var warmupRatio: Float = 0.1
    public var gradientAccumulation = 1
    /// 0 turns clipping off.
    public var maxGradNorm: Float = 1.0
    /// Evaluate every N optimizer steps; 0 evaluates at the end of each epoch.
    public var evalEvery = 0
    /// Stop after this many evaluations without improvement; 0 never stops early.
    public var earlyStoppingPatience = 0
    public var metric = Metric.accuracy
    /// Write a resumable checkpoint every N optimizer steps (also at each evaluation).
    public var checkpointEvery = 50
    /// Log a training line every N optimizer steps.
    public var logEvery = 10
    public var seed: UInt64 = 42
    /// Images are resized to this square size (image-classification).
    public var imageSize = 224
    /// Train on this many examples (a seeded subset, class-balanced for images); 0 takes all.
    public var trainLimit = 0
    /// Validate on this many examples (a seeded subset); 0 takes all.
    public var validationLimit = 0
    /// Test data, evaluated once at the end (image-classification).
    public var testData: String?

    /// The tasks `peft train` runs.
    public static let tasks = ["sequence-classification", "image-classification", "causal-lm"]

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case model, data, validationData = "validation_data", output, task, method, rank, alpha, dropout
        case targetModules = "target_modules", numVirtualTokens = "num_virtual_tokens", reductionFactor = "reduction_factor"
        case analysisBatches = "analysis_batches", density, maskScope = "mask_scope", maskScore = "mask_score", movementSteps = "movement_steps", movementLearningRate = "movement_learning_rate", budgetParams = "budget_params", textColumn = "text_column", labelColumn = "label_column"
        case maxLength = "max_length", epochs, batchSize = "batch_size", evaluationBatchSize = "eval_batch_size"
        case learningRate = "learning_rate", optimizer, momentum, weightDecay = "weight_decay", schedule
        case warmupRatio = "warmup_ratio", gradientAccumulation = "gradient_accumulation", maxGradNorm = "max_grad_norm"
        case evalEvery = "eval_every", earlyStoppingPatience = "early_stopping_patience", metric
        case checkpointEvery = "checkpoint_every", logEvery = "log_every", seed
        case imageSize = "image_size", trainLimit = "train_limit", validationLimit = "validation_limit", testData = "test_data"
    }

    /// Decodes the keys that are present; the rest keep their defaults.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func take<Value: Decodable>(_ key: CodingKeys, _ value: inout Value) throws {
            if let decoded = try container.decodeIfPresent(Value.self, forKey: key) { value = decoded }
        }
        func take<Value: Decodable>(_ key: CodingKeys, _ value: inout Value?) throws {
            if let decoded = try container.decodeIfPresent(Value.self, forKey: key) { value = decoded }
        }
        try take(.model, &model); try take(.data, &data); try take(.validationData, &validationData)
        try take(.output, &output); try take(.task, &task); try take(.method, &method); try take(.rank, &rank)
        try take(.alpha, &alpha); try take(.dropout, &dropout); try take(.targetModules, &targetModules)
        try take(.numVirtualTokens, &numVirtualTokens); try take(.reductionFactor, &reductionFactor)
        try take(.analysisBatches, &analysisBatches); try take(.density, &density); try take(.maskScope, &maskScope); try take(.maskScore, &maskScore); try take(.movementSteps, &movementSteps); try take(.movementLearningRate, &movementLearningRate); try take(.budgetParams, &budgetParams)
        try take(.textColumn, &textColumn); try take(.labelColumn, &labelColumn); try take(.maxLength, &maxLength)
        try take(.epochs, &epochs); try take(.batchSize, &batchSize); try take(.evaluationBatchSize, &evaluationBatchSize)
        try take(.learningRate, &learningRate); try take(.optimizer, &optimizer); try take(.momentum, &momentum)
        try take(.weightDecay, &weightDecay); try take(.schedule, &schedule); try take(.warmupRatio, &warmupRatio)
        try take(.gradientAccumulation, &gradientAccumulation); try take(.maxGradNorm, &maxGradNorm)
        try take(.evalEvery, &evalEvery); try take(.earlyStoppingPatience, &earlyStoppingPatience)
        try take(.metric, &metric); try take(.checkpointEvery, &checkpointEvery); try take(.logEvery, &logEvery)
        try take(.seed, &seed)
        try take(.imageSize, &imageSize); try take(.trainLimit, &trainLimit); try take(.validationLimit, &validationLimit)
        try take(.testData, &testData)
    }

    /// Loads a JSON (`.json`) or flat YAML (`.yaml`, `.yml`) file of settings.
    public static func load(from url: URL) throws -> TrainingConfiguration {
        guard FileManager.default.fileExists(atPath: url.path) else { throw ConfigurationError.missingFile(file: url.path) }
        let object: [String: Any]
        switch url.pathExtension.lowercased() {
        case "yaml", "yml": object = try FlatYAML.parse(contentsOf: url)
        case "json":
            guard let parsed = try? JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
                throw ConfigurationError.malformed(file: url.path, line: nil, reason: "expected one JSON object")
            }
            object = parsed
        default: throw ConfigurationError.malformed(file: url.path, line: nil, reason: "expected a .json, .yaml or .yml file")
        }
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw ConfigurationError.unknownKey(file: url.path, key: unknown, known: known.sorted())
        }
        do {
            return try JSONDecoder().decode(TrainingConfiguration.self, from: JSONSerialization.data(withJSONObject: object))
        } catch let DecodingError.typeMismatch(type, context), let DecodingError.valueNotFound(type, context) {
            throw ConfigurationError.invalidValue(file: url.path, key: context.codingPath.map(\.stringValue).joined(separator: "."),
                                                  expected: "a value of type \(type)")
        } catch let DecodingError.dataCorrupted(context) {
            throw ConfigurationError.invalidValue(file: url.path, key: context.codingPath.map(\.stringValue).joined(separator: "."),
                                                  expected: context.debugDescription)
        }
    }

    /// Checks every value's range; the error names the setting and what it accepts.
    public func validate() throws {
        func check(_ condition: Bool, _ key: CodingKeys, _ value: Any, _ expected: String) throws {
            if !condition { throw ConfigurationError.outOfRange(key: key.rawValue, value: "\(value)", expected: expected) }
        }
        try check(Self.tasks.contains(task), .task, task, Self.tasks.joined(separator: ", "))
        try check(rank >= 1, .rank, rank, "an integer >= 1")
        try check(alpha > 0, .alpha, alpha, "a number > 0")
        try check(dropout >= 0 && dropout < 1, .dropout, dropout, "a number in [0, 1)")
        try check(!targetModules.isEmpty, .targetModules, targetModules, "at least one module name")
        try check(numVirtualTokens >= 1 && numVirtualTokens <= 1024, .numVirtualTokens, numVirtualTokens, "an integer in [1, 1024]")
        try check(reductionFactor >= 1, .reductionFactor, reductionFactor, "a number >= 1 (hidden size / bottleneck size)")
        try check(analysisBatches >= 1 && analysisBatches <= 10000, .analysisBatches, analysisBatches, "an integer in [1, 10000]")
        try check(density > 0 && density <= 1, .density, density, "a number in (0, 1]")
        try check(movementSteps >= 1 && movementSteps <= 100_000, .movementSteps, movementSteps, "an integer in [1, 100000]")
        try check(movementLearningRate > 0 && movementLearningRate <= 1, .movementLearningRate, movementLearningRate, "a number in (0, 1]")
        if let budgetParams { try check(budgetParams >= 1, .budgetParams, budgetParams, "an integer >= 1") }
        try check(maxLength >= 2 && maxLength <= 4096, .maxLength, maxLength, "an integer in [2, 4096]")
        try check(epochs >= 1, .epochs, epochs, "an integer >= 1")
        try check(batchSize >= 1, .batchSize, batchSize, "an integer >= 1")
        try check(evaluationBatchSize >= 1, .evaluationBatchSize, evaluationBatchSize, "an integer >= 1")
        try check(learningRate > 0 && learningRate <= 1, .learningRate, learningRate, "a number in (0, 1]")
        try check(momentum >= 0 && momentum < 1, .momentum, momentum, "a number in [0, 1)")
        try check(weightDecay >= 0 && weightDecay < 1, .weightDecay, weightDecay, "a number in [0, 1)")
        try check(["constant", "linear", "cosine"].contains(schedule), .schedule, schedule, "constant, linear or cosine")
        try check(warmupRatio >= 0 && warmupRatio <= 1, .warmupRatio, warmupRatio, "a number in [0, 1]")
        try check(gradientAccumulation >= 1, .gradientAccumulation, gradientAccumulation, "an integer >= 1")
        try check(maxGradNorm >= 0, .maxGradNorm, maxGradNorm, "a number >= 0 (0 turns clipping off)")
        try check(evalEvery >= 0, .evalEvery, evalEvery, "an integer >= 0 (0 evaluates each epoch)")
        try check(earlyStoppingPatience >= 0, .earlyStoppingPatience, earlyStoppingPatience, "an integer >= 0 (0 turns it off)")
        try check(checkpointEvery >= 1, .checkpointEvery, checkpointEvery, "an integer >= 1")
        try check(logEvery >= 1, .logEvery, logEvery, "an integer >= 1")
        try check(imageSize >= 8 && imageSize <= 1024, .imageSize, imageSize, "an integer in [8, 1024]")
        try check(trainLimit >= 0, .trainLimit, trainLimit, "an integer >= 0 (0 takes all)")
        try check(validationLimit >= 0, .validationLimit, validationLimit, "an integer >= 0 (0 takes all)")
    }
}

extension TrainingConfiguration {
    /// Optimizer, learning rate and schedule in one line: "adamw, 0.0005, linear (warm-up 0.1)".
    public var optimizerSummary: String { "\(optimizer.rawValue), \(learningRate), \(schedule) (warm-up \(warmupRatio))" }

    /// The method with the settings that shape it, in one line (for reports and tables).
    ///
    /// ```swift
    /// TrainingConfiguration().methodSummary   // "LoRA r=8, alpha 16, dropout 0.1 on query, value + classifier"
    /// ```
    public var methodSummary: String {
        func number(_ value: Double) -> String { String(format: "%g", value) }
        let targets = targetModules.joined(separator: ", ")
        let summary = switch method {
        case .full: "full fine-tuning"
        case .head: "classifier only (frozen encoder)"
        case .lora: "LoRA r=\(rank), alpha \(number(alpha)), dropout \(number(dropout)) on \(targets)"
        case .plannedLoRA:
            "planned LoRA (per-example Fisher over \(analysisBatches * batchSize) examples), budget \(budgetParams.map { "\($0) parameters" } ?? "of LoRA r=\(rank) on \(targets)")"
        case .ia3: "IA3 on key, value, output.dense"
        case .promptTuning: "prompt tuning, \(numVirtualTokens) virtual tokens"
        case .prefixTuning: "prefix tuning, \(numVirtualTokens) virtual tokens"
        case .houlsby: "Houlsby adapters, reduction factor \(number(reductionFactor))"
        case .pfeiffer: "Pfeiffer adapters, reduction factor \(number(reductionFactor))"
        case .bitFit: "BitFit (encoder biases)"
        case .norm: "LayerNorm weights and biases"
        case .selective: "selective: top \(number(100 * density))% of encoder elements\(maskScope == .perTensor ? " per tensor" : "") (\(maskScoreSummary))"
        }
        return method == .full || method == .head ? summary : summary + " + classifier"
    }

    private var maskScoreSummary: String {
        let examples = "over \(analysisBatches * batchSize) examples"
        return switch maskScore {
        case .fisher: "per-example Fisher \(examples)"
        case .taylor: "per-example |gradient × weight| \(examples)"
        case .magnitude: "weight magnitude"
        case .movement: "movement over \(movementSteps) full fine-tuning steps at \(String(format: "%g", movementLearningRate))"
        }
    }
}

/// What selective ranks encoder elements by: a `SensitivityAnalysis` score over the analysis
/// examples (`fisher`: per-example mean squared gradient, FISH mask; `taylor`: per-example mean
/// |gradient × weight|; `magnitude`: |weight|), or `movement`: how far `movement_steps` steps
/// of full fine-tuning move each element (`MovementScores`, lottery-ticket sparse fine-tuning).
public enum MaskScore: String, Codable, Sendable, CaseIterable {
    case fisher, taylor, magnitude, movement

    /// The gradient-analysis score behind it; nil for the scores that need no analysis
    /// (`magnitude`, `movement`).
    public var sensitivityScore: SensitivityScore? {
        switch self {
        case .fisher: .fisher
        case .taylor: .taylor
        case .magnitude, .movement: nil
        }
    }
}

/// What is wrong with a configuration file or a setting.
public enum ConfigurationError: Error, CustomStringConvertible, Equatable {
    case missingFile(file: String)
    case malformed(file: String, line: Int?, reason: String)
    case unknownKey(file: String, key: String, known: [String])
    case invalidValue(file: String, key: String, expected: String)
    case outOfRange(key: String, value: String, expected: String)

    public var description: String {
        switch self {
        case let .missingFile(file): "\(file): no such file"
        case let .malformed(file, line, reason): "\(file)\(line.map { ":\($0)" } ?? ""): \(reason)"
        case let .unknownKey(file, key, known): "\(file): unknown key '\(key)'; the keys are \(known.joined(separator: ", "))"
        case let .invalidValue(file, key, expected): "\(file): key '\(key)': expected \(expected)"
        case let .outOfRange(key, value, expected):
            "--\(key.replacingOccurrences(of: "_", with: "-")) \(value) is out of range; expected \(expected)"
        }
    }
}
