import Foundation
import Models
import NN
import PEFT
import TensorCore

/// What the data-driven methods (selective, planned-lora) need before training: the training
/// data they score, and the folder where they keep what they chose (`selective_mask.safetensors`,
/// `lora_plan.json`), so that a resumed run trains exactly the same parameters.
///
/// ```swift
/// let analysis = MethodAnalysis(data: train, planFolder: output, reusesSavedPlan: resume)
/// let classifier = try SequenceClassifier(modelFolder: model, labelCount: 2, configuration: configuration, analysis: analysis)
/// ```
public struct MethodAnalysis {
    public var data: TextClassificationData
    /// Where the chosen mask or plan is written (nil: nowhere).
    public var planFolder: URL?
    /// Read the mask or plan saved in `planFolder` instead of scoring again (for `--resume`).
    public var reusesSavedPlan: Bool

    public init(data: TextClassificationData, planFolder: URL? = nil, reusesSavedPlan: Bool = false) {
        self.data = data
        self.planFolder = planFolder
        self.reusesSavedPlan = reusesSavedPlan
    }
}

/// Applies a training method to a sequence classifier: what trains, and through which PEFT
/// configuration. Every PEFT method runs through `PeftModel` with the classifier trained as
/// PEFT's `modules_to_save`; `full` and `head` set trainability directly; `selective` trains a
/// sparse mask (`SelectiveMethod`).
enum MethodSetup {
    /// Encoder parameters (everything but the head): what BitFit, norm tuning and the
    /// sensitivity analysis of selective and planned-lora consider.
    static let encoderPattern = #"bert\..*"#

    static func apply(_ configuration: TrainingConfiguration, to classifier: SequenceClassifier, modelFolder: URL,
                      analysis: MethodAnalysis?, generator: inout RandomGenerator) throws {
        let model = classifier.model
        switch configuration.method {
        case .full:
            model.unfreeze()
        case .head:
            model.freeze()
            model.unfreeze(matching: #"classifier\..*"#)
        case .selective:
            classifier.selective = try SelectiveMethod.makeTraining(configuration, classifier: classifier,
                                                                    analysis: try required(analysis, configuration))
        case .lora, .ia3, .promptTuning, .prefixTuning, .houlsby, .pfeiffer, .bitFit, .norm, .plannedLoRA:
            let adapter = try adapterConfiguration(configuration, classifier: classifier, modelFolder: modelFolder, analysis: analysis)
            classifier.peft = try PeftModel(model: model, configuration: adapter, generator: &generator)
        }
    }

    /// The PEFT configuration of an adapter method, with the classifier as `modules_to_save`.
    static func adapterConfiguration(_ configuration: TrainingConfiguration, classifier: SequenceClassifier, modelFolder: URL,
                                     analysis: MethodAnalysis?) throws -> any AdapterConfiguration {
        func classifying<Adapter: ClassificationAdapter>(_ adapter: Adapter) -> Adapter {
            var adapter = adapter
            adapter.taskType = "SEQ_CLS"
            adapter.modulesToSave = ["classifier"]
            adapter.baseModelNameOrPath = modelFolder.path
            return adapter
        }
        switch configuration.method {
        case .lora:
            return classifying(LoRAConfiguration(rank: configuration.rank, alpha: configuration.alpha,
                                                 targetModules: .names(configuration.targetModules), dropout: configuration.dropout))
        case .plannedLoRA:
            let plan = try PlannedLoRA.plan(configuration, classifier: classifier, analysis: try required(analysis, configuration))
            var lora = plan.configuration(alphaRatio: configuration.alpha / Double(configuration.rank))
            lora.dropout = configuration.dropout
            return classifying(lora)
        case .ia3:
            return classifying(IA3Configuration())
        case .promptTuning:
            try checkPositions(configuration, classifier: classifier)
            return classifying(PromptTuningConfiguration(virtualTokenCount: configuration.numVirtualTokens))
        case .prefixTuning:
            try checkPositions(configuration, classifier: classifier)
            return classifying(PrefixTuningConfiguration(virtualTokenCount: configuration.numVirtualTokens))
        case .houlsby, .pfeiffer:
            return classifying(BottleneckConfiguration(architecture: configuration.method == .houlsby ? .houlsby : .pfeiffer,
                                                       reductionFactor: configuration.reductionFactor))
        case .bitFit, .norm:
            return classifying(BitFitConfiguration(subset: configuration.method == .bitFit ? .biases : .normalization,
                                                   targetModules: .pattern(encoderPattern)))
        case .full, .head, .selective:
            preconditionFailure("MethodSetup: \(configuration.method.rawValue) is not an adapter method")
        }
    }

    /// Prompt and prefix tuning number positions over the virtual tokens too: they and the
    /// longest input must fit the model's position table.
    static func checkPositions(_ configuration: TrainingConfiguration, classifier: SequenceClassifier) throws {
        let positions = classifier.model.bert.configuration.maximumPositionCount
        guard configuration.numVirtualTokens + configuration.maxLength <= positions else {
            throw ConfigurationError.outOfRange(key: TrainingConfiguration.CodingKeys.numVirtualTokens.rawValue,
                                                value: "\(configuration.numVirtualTokens)",
                                                expected: "at most \(positions - configuration.maxLength): with --max-length \(configuration.maxLength) the model's \(positions) positions must hold both")
        }
    }

    static func required(_ analysis: MethodAnalysis?, _ configuration: TrainingConfiguration) throws -> MethodAnalysis {
        guard let analysis else {
            throw ConfigurationError.outOfRange(key: "data", value: "nothing",
                                                expected: "training data for the sensitivity analysis of \(configuration.method.rawValue)")
        }
        return analysis
    }

    /// Fisher scores (and the rest) of the encoder's parameters over the examples of the first
    /// `analysis_batches` training batches, in evaluation mode (no dropout).
    ///
    /// Each example is one gradient sample, so the Fisher score is the per-example empirical
    /// Fisher (1/N) Σ gₙ², as FISH-mask defines it. Squaring whole-batch gradients instead
    /// measures the squared mean gradient of a few batches: it favours the elements the first
    /// steps would move, not those the task's examples keep pulling on.
    static func scoreSensitivity(_ configuration: TrainingConfiguration, classifier: SequenceClassifier,
                                 data: TextClassificationData) -> SensitivityAnalysis {
        let model = classifier.model
        let examples = classifier.encode(data, maxLength: configuration.maxLength)
        // The same seeded order as training's batcher: the first examples are its first batches.
        var batcher = Batcher(examples: examples, batchSize: 1, paddingID: classifier.paddingID, seed: configuration.seed)
        let analysis = SensitivityAnalysis(model: model, matching: encoderPattern)
        let wasTraining = model.isTraining
        model.setTraining(false)
        defer { model.setTraining(wasTraining) }
        for _ in 0..<configuration.analysisBatches * configuration.batchSize {
            guard let example = batcher.next() else { break }
            analysis.accumulate { crossEntropy(logits: model(example.tokens), targets: example.labels) }
        }
        return analysis
    }
}

/// The fields every adapter configuration of a sequence classifier sets.
protocol ClassificationAdapter: AdapterConfiguration {
    var taskType: String? { get set }
    var modulesToSave: [String]? { get set }
    var baseModelNameOrPath: String? { get set }
}

extension LoRAConfiguration: ClassificationAdapter {}
extension IA3Configuration: ClassificationAdapter {}
extension PromptTuningConfiguration: ClassificationAdapter {}
extension PrefixTuningConfiguration: ClassificationAdapter {}
extension BottleneckConfiguration: ClassificationAdapter {}
extension BitFitConfiguration: ClassificationAdapter {}
