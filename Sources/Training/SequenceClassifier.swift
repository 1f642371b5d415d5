import Formats
import Foundation
import Models
import NN
import PEFT
import TensorCore

/// A BERT sequence classifier from a Hugging Face folder, with its tokenizer and the training
/// method applied (`MethodSetup`): a PEFT method through `PeftModel` with the classifier
/// trained as PEFT's `modules_to_save` (lora, ia3, prompt-tuning, prefix-tuning, houlsby,
/// pfeiffer, bitfit, norm, planned-lora), a sparse mask (selective), every parameter (full) or
/// the classifier alone (head).
///
/// Saved outputs: for PEFT methods an adapter folder (`adapter_config.json`,
/// `adapter_model.safetensors`; Python PEFT loads LoRA, IA3, prompt and prefix tuning); for
/// selective `sparse_diff.safetensors` plus the classifier in `trained_weights.safetensors`;
/// for full and head `trained_weights.safetensors` with the trained tensors under their model
/// paths. Always `labels.json` and `training_config.json`.
///
/// ```swift
/// let classifier = try SequenceClassifier(modelFolder: folder, labelCount: 2, configuration: configuration)
/// let logits = classifier.logits(batch)   // [B, 2]
/// try classifier.save(to: output, labelNames: ["rotten", "fresh"], configuration: configuration)
/// ```
public final class SequenceClassifier {
    public static let labelsFileName = "labels.json"
    public static let configurationFileName = "training_config.json"
    public static let weightsFileName = "trained_weights.safetensors"

    public let model: BertForSequenceClassification
    public let tokenizer: WordPieceTokenizer
    public let method: TrainingConfiguration.Method
    public internal(set) var peft: PeftModel?
    /// The sparse mask training of `selective` (the trainer's `updateMask`).
    public internal(set) var selective: SelectiveFineTuning?

    /// Builds the model from `modelFolder` (config.json, model.safetensors, tokenizer) with a
    /// new head of `labelCount` outputs, and applies `configuration.method` (unless
    /// `applyingMethod` is false, as when trained outputs are loaded next). Selective and
    /// planned-lora score `analysis.data` first and throw without it.
    public init(modelFolder: URL, labelCount: Int, configuration: TrainingConfiguration, applyingMethod: Bool = true,
                analysis: MethodAnalysis? = nil) throws {
        for name in ["config.json", "model.safetensors"] where !FileManager.default.fileExists(atPath: modelFolder.appendingPathComponent(name).path) {
            throw DataError.missingFile(file: modelFolder.appendingPathComponent(name).path)
        }
        tokenizer = try Self.loadTokenizer(modelFolder)
        let bertConfiguration = try BertConfiguration.load(from: modelFolder)
        var generator = RandomGenerator(seed: configuration.seed)
        model = BertForSequenceClassification(configuration: bertConfiguration, labelCount: labelCount, generator: &generator)
        try model.bert.loadWeights(from: modelFolder)
        method = configuration.method
        guard applyingMethod else { return }
        try MethodSetup.apply(configuration, to: self, modelFolder: modelFolder, analysis: analysis, generator: &generator)
    }

    /// Loads a trained classifier: the base from `modelFolder`, then the outputs of a training
    /// run in `trainedFolder` (adapter or trained weights, labels). Returns it with the label names.
    public static func load(modelFolder: URL, trainedFolder: URL) throws -> (classifier: SequenceClassifier, labelNames: [String]) {
        let labelsURL = trainedFolder.appendingPathComponent(labelsFileName)
        guard FileManager.default.fileExists(atPath: labelsURL.path) else { throw DataError.missingFile(file: labelsURL.path) }
        let labels = try decodeJSONFile(LabelsFile.self, from: labelsURL).labelNames
        var configuration = TrainingConfiguration()
        let configurationURL = trainedFolder.appendingPathComponent(configurationFileName)
        if FileManager.default.fileExists(atPath: configurationURL.path) {
            configuration = try TrainingConfiguration.load(from: configurationURL)
        }
        let isAdapter = FileManager.default.fileExists(atPath: trainedFolder.appendingPathComponent(AdapterFile.configurationName).path)
        let classifier = try SequenceClassifier(modelFolder: modelFolder, labelCount: labels.count, configuration: configuration,
                                                applyingMethod: false)
        if isAdapter {
            classifier.peft = try PeftModel.load(from: trainedFolder, into: classifier.model)
        } else if SelectiveMethod.isSaved(in: trainedFolder) {
            try SelectiveMethod.load(into: classifier.model, from: trainedFolder)
        } else {
            let url = trainedFolder.appendingPathComponent(weightsFileName)
            guard FileManager.default.fileExists(atPath: url.path) else { throw DataError.missingFile(file: url.path) }
            try Checkpoint.loadWeights(into: classifier.model, from: url)
        }
        return (classifier, labels)
    }

    /// -> logits [B, L]
    public func logits(_ batch: TokenBatch) -> Tensor { model(batch) }

    public var paddingID: Int { tokenizer.id(of: "[PAD]") ?? 0 }

    /// Trainable and total parameter counts, as PEFT's `print_trainable_parameters` counts them
    /// (for selective: the elements of the mask).
    public var parameterCounts: (trainable: Int, total: Int) {
        let report = TrainableParameterReport(model: model)
        return (selective?.trainableCount ?? report.trainable, report.total)
    }

    public func encode(_ data: TextClassificationData, maxLength: Int) -> [EncodedExample] {
        EncodedExample.encode(data, tokenizer: tokenizer, maxLength: maxLength)
    }

    /// Writes the trained parameters (adapter folder, sparse diff or weights), labels and configuration.
    public func save(to folder: URL, labelNames: [String], configuration: TrainingConfiguration) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        if let peft {
            try peft.save(to: folder)
        } else if let selective {
            try SelectiveMethod.save(selective, model: model, to: folder, configuration: configuration)
        } else {
            try Checkpoint.writeWeights(of: model, to: folder.appendingPathComponent(Self.weightsFileName),
                                        metadata: ["format": "pt", "method": method.rawValue])
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(LabelsFile(labelNames: labelNames)).write(to: folder.appendingPathComponent(Self.labelsFileName), options: .atomic)
        try encoder.encode(configuration).write(to: folder.appendingPathComponent(Self.configurationFileName), options: .atomic)
    }

    private static func loadTokenizer(_ folder: URL) throws -> WordPieceTokenizer {
        let json = folder.appendingPathComponent("tokenizer.json"), vocabulary = folder.appendingPathComponent("vocab.txt")
        if FileManager.default.fileExists(atPath: json.path) { return try WordPieceTokenizer(tokenizerJSON: json) }
        if FileManager.default.fileExists(atPath: vocabulary.path) { return try WordPieceTokenizer(vocabulary: vocabulary) }
        throw DataError.missingFile(file: json.path)
    }
}

/// `labels.json`: label names by id, as transformers' `id2label`/`label2id`.
struct LabelsFile: Codable {
    var labelNames: [String]

    init(labelNames: [String]) { self.labelNames = labelNames }

    enum CodingKeys: String, CodingKey { case idToLabel = "id2label", labelToID = "label2id" }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let byID = try container.decode([String: String].self, forKey: .idToLabel)
        labelNames = try (0..<byID.count).map { id in
            guard let name = byID[String(id)] else {
                throw DecodingError.dataCorruptedError(forKey: .idToLabel, in: container, debugDescription: "no label for id \(id)")
            }
            return name
        }
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Dictionary(uniqueKeysWithValues: labelNames.enumerated().map { (String($0), $1) }), forKey: .idToLabel)
        try container.encode(Dictionary(uniqueKeysWithValues: labelNames.enumerated().map { ($1, $0) }), forKey: .labelToID)
    }
}
