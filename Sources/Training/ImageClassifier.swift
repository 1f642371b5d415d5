import Formats
import Foundation
import Models
import NN
import PEFT
import TensorCore

/// EfficientNet-Lite0 from a PyTorch checkpoint with a new classifier head for a new label set
/// and the training method applied: LoRA adapters on the convolutions (through `PeftModel`,
/// the head trained as PEFT's `modules_to_save`), the head alone (`head`), or every parameter
/// (`full`). Batch norms are frozen (`FrozenBatchNorm2d`: running statistics in every mode),
/// the usual choice when fine-tuning a pretrained CNN on small batches.
///
/// Images are resized (shorter side, then a centre crop) to `image_size`, gray expanded to
/// RGB, and normalised as the checkpoint was trained, `(x - 127) / 128`.
///
/// Saved outputs are `SequenceClassifier`'s: a PEFT adapter folder for LoRA,
/// `trained_weights.safetensors` for head and full, plus `labels.json` and `training_config.json`.
///
/// ```swift
/// let classifier = try ImageClassifier(checkpoint: url, labelCount: 10, configuration: configuration)
/// let logits = classifier.logits(classifier.preprocessing.tensor(images))   // [N, 10]
/// try classifier.save(to: output, labelNames: names, configuration: configuration)
/// ```
public final class ImageClassifier {
    /// The convolutions LoRA adapts unless `target_modules` names others: the 3×3 stem (it
    /// first meets the new domain's pixels), every 1×1 expansion and projection of the MBConv
    /// blocks and the 1×1 head convolution. Depthwise convolutions have one filter per channel
    /// and no low-rank form worth adapting (PEFT refuses them too).
    public static let defaultTargetModules = ["_conv_stem", "_expand_conv", "_project_conv", "_conv_head"]

    public let model: EfficientNet
    public let method: TrainingConfiguration.Method
    public let preprocessing: ImagePreprocessing
    public private(set) var peft: PeftModel?

    /// Loads the network from `checkpoint` (a `.pth`/`.safetensors` file, or a folder with
    /// one), gives it a new head of `labelCount` outputs seeded by `configuration.seed`, freezes
    /// its batch norms and applies `configuration.method` (unless `applyingMethod` is false, as
    /// when trained outputs are loaded next). `architecture` is the network's shape, Lite0's
    /// unless the checkpoint holds another.
    public init(checkpoint: URL, labelCount: Int, configuration: TrainingConfiguration, applyingMethod: Bool = true,
                architecture: EfficientNetConfiguration = .lite(0)) throws {
        let file = try Self.checkpointFile(checkpoint)
        var architecture = architecture
        architecture.classCount = labelCount
        model = try EfficientNet.load(from: file, configuration: architecture)
        model.replaceClassifier(labelCount: labelCount, seed: configuration.seed)
        FrozenBatchNorm2d.freezeAll(in: model)
        method = configuration.method
        let size = configuration.imageSize
        preprocessing = ImagePreprocessing(resizeShorterSide: size, cropSize: size)
        guard applyingMethod else { return }
        if method == .head {
            model.freeze()
            model.unfreeze(matching: #"_fc\..*"#)
        } else if method == .full {
            model.unfreeze()
        } else if method == .lora {
            var lora = LoRAConfiguration(rank: configuration.rank, alpha: configuration.alpha,
                                         targetModules: .names(configuration.targetModules(defaultingTo: Self.defaultTargetModules)),
                                         dropout: configuration.dropout)
            lora.modulesToSave = ["_fc"]
            lora.baseModelNameOrPath = checkpoint.path
            var generator = RandomGenerator(seed: configuration.seed)
            peft = try PeftModel(model: model, configuration: lora, generator: &generator)
        } else {
            throw ConfigurationError.outOfRange(key: "method", value: method.rawValue,
                                                expected: "lora, head or full for image-classification")
        }
    }

    /// Loads a trained classifier: the base from `checkpoint`, then the outputs of a training
    /// run in `trainedFolder` (adapter or trained weights, labels, configuration).
    public static func load(checkpoint: URL, trainedFolder: URL, architecture: EfficientNetConfiguration = .lite(0)) throws
        -> (classifier: ImageClassifier, labelNames: [String], configuration: TrainingConfiguration) {
        let (labels, configuration) = try readTrainedFolder(trainedFolder)
        let classifier = try ImageClassifier(checkpoint: checkpoint, labelCount: labels.count, configuration: configuration,
                                             applyingMethod: false, architecture: architecture)
        if FileManager.default.fileExists(atPath: trainedFolder.appendingPathComponent(AdapterFile.configurationName).path) {
            classifier.peft = try PeftModel.load(from: trainedFolder, into: classifier.model)
        } else {
            let url = trainedFolder.appendingPathComponent(SequenceClassifier.weightsFileName)
            guard FileManager.default.fileExists(atPath: url.path) else { throw DataError.missingFile(file: url.path) }
            try Checkpoint.loadWeights(into: classifier.model, from: url)
        }
        return (classifier, labels, configuration)
    }

    /// images [N, 3, H, W] (preprocessed) -> logits [N, L]
    public func logits(_ images: Tensor) -> Tensor { model(images) }

    /// The examples at `indices` of `dataset`, preprocessed and classified: -> logits [N, L].
    public func logits(indices: [Int], of dataset: ImageDataset) -> Tensor {
        logits(dataset.batch(indices, preprocessing: preprocessing).inputs)
    }

    /// Loss, accuracy and macro-F1 on `dataset`, in evaluation mode; `file` names it in errors.
    public func evaluate(_ dataset: ImageDataset, batchSize: Int, file: String = "data") throws -> ClassificationMetrics {
        let labelCount = model.configuration.classCount
        if let label = dataset.labels.first(where: { $0 >= labelCount }) {
            throw DataError.labelOutOfRange(file: file, label: label, labelCount: labelCount)
        }
        let examples = dataset.labels.enumerated().map { EncodedExample(ids: [$0.offset], label: $0.element) }
        return evaluateClassifier(examples, labelCount: labelCount, batchSize: batchSize, paddingID: 0, model: model) {
            self.logits(indices: $0.ids, of: dataset)
        }
    }

    /// Trainable and total parameter counts, as PEFT's `print_trainable_parameters` counts them.
    public var parameterCounts: (trainable: Int, total: Int) {
        let report = TrainableParameterReport(model: model)
        return (report.trainable, report.total)
    }

    /// Writes the trained parameters (adapter folder or weights), labels and configuration.
    public func save(to folder: URL, labelNames: [String], configuration: TrainingConfiguration) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        if let peft {
            try peft.save(to: folder)
        } else {
            try Checkpoint.writeWeights(of: model, to: folder.appendingPathComponent(SequenceClassifier.weightsFileName),
                                        metadata: ["format": "pt", "method": method.rawValue])
        }
        try writeTrainedFolderFiles(to: folder, labelNames: labelNames, configuration: configuration)
    }

    /// `url` itself, or the one `.pth`/`.pt`/`.bin`/`.safetensors` file in the folder `url`.
    static func checkpointFile(_ url: URL) throws -> URL {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { throw DataError.missingFile(file: url.path) }
        guard isDirectory.boolValue else { return url }
        let names = try FileManager.default.contentsOfDirectory(atPath: url.path).sorted()
        guard let name = names.first(where: { ["pth", "pt", "bin", "safetensors"].contains(URL(fileURLWithPath: $0).pathExtension) }) else {
            throw DataError.missingFile(file: url.appendingPathComponent("*.pth").path)
        }
        return url.appendingPathComponent(name)
    }
}

/// Label names and the training configuration from a trained folder (`labels.json`,
/// `training_config.json`; the configuration's defaults when that file is absent).
func readTrainedFolder(_ folder: URL) throws -> (labelNames: [String], configuration: TrainingConfiguration) {
    let labelsURL = folder.appendingPathComponent(SequenceClassifier.labelsFileName)
    guard FileManager.default.fileExists(atPath: labelsURL.path) else { throw DataError.missingFile(file: labelsURL.path) }
    let labels = try decodeJSONFile(LabelsFile.self, from: labelsURL).labelNames
    let configurationURL = folder.appendingPathComponent(SequenceClassifier.configurationFileName)
    let configuration = FileManager.default.fileExists(atPath: configurationURL.path)
        ? try TrainingConfiguration.load(from: configurationURL) : TrainingConfiguration()
    return (labels, configuration)
}

/// Writes `labels.json` and `training_config.json` into `folder`.
func writeTrainedFolderFiles(to folder: URL, labelNames: [String], configuration: TrainingConfiguration) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(LabelsFile(labelNames: labelNames)).write(to: folder.appendingPathComponent(SequenceClassifier.labelsFileName), options: .atomic)
    try encoder.encode(configuration).write(to: folder.appendingPathComponent(SequenceClassifier.configurationFileName), options: .atomic)
}

extension TrainingConfiguration {
    /// `target_modules` as set, or `defaults` (a model's own) while it holds the
    /// sequence-classification default, BERT's `query`, `value`, which other models lack.
    func targetModules(defaultingTo defaults: [String]) -> [String] {
        targetModules == TrainingConfiguration().targetModules ? defaults : targetModules
    }
}
