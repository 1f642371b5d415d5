import Formats
import Foundation
import Models
import TensorCore

/// One fine-tuning run of an image classifier (EfficientNet-Lite0 with a new head) from files
/// to saved outputs, through the same `Trainer` as text classification: seeded shuffling,
/// checkpoints that resume, evaluation, best weights. Writes the trained parameters,
/// `labels.json`, `training_config.json`, `log.jsonl` and `report.html` to `output`.
///
/// Each image is an `EncodedExample` whose one id is its index in a pool of the training,
/// validation and test images, so the trainer's batcher serves images as it serves token ids;
/// the forward pass preprocesses the images of a batch when it needs them (a resized
/// Fashion-MNIST set would not fit in memory at 96 px).
///
/// ```swift
/// let (train, validation, test) = try ImageClassificationRun.loadData(configuration)
/// let result = try ImageClassificationRun.run(configuration: configuration, train: train,
///                                             validation: validation, test: test, output: output)
/// print(result.test!.accuracy)
/// ```
public enum ImageClassificationRun {
    /// The training images (`data`, at most `train_limit` of them, class-balanced), the
    /// validation images (`validation_data`, at most `validation_limit`) and the test images
    /// (`test_data`, all). A folder gives its `train` files for training and its `t10k`/`test`
    /// files otherwise.
    public static func loadData(_ configuration: TrainingConfiguration) throws
        -> (train: ImageDataset, validation: ImageDataset?, test: ImageDataset?) {
        guard let data = configuration.data else {
            throw ConfigurationError.outOfRange(key: "data", value: "nothing", expected: "a training data file or folder")
        }
        let train = try ImageDataset.load(from: data, preferring: ["train"]).balancedSubset(configuration.trainLimit, seed: configuration.seed)
        let validation = try configuration.validationData.map { path in
            let all = try ImageDataset.load(from: path, preferring: ["t10k", "test", "val"])
            let chosen = seededSubset(count: all.count, limit: configuration.validationLimit, seed: configuration.seed)
            return ImageDataset(images: chosen.map { all.images[$0] }, labels: chosen.map { all.labels[$0] })
        }
        let test = try configuration.testData.map { try ImageDataset.load(from: $0, preferring: ["t10k", "test"]) }
        for (dataset, path) in [(validation, configuration.validationData), (test, configuration.testData)] {
            if let dataset, let path, let label = dataset.labels.first(where: { $0 >= train.labelCount }) {
                throw DataError.labelOutOfRange(file: path, label: label, labelCount: train.labelCount)
            }
        }
        return (train, validation, test)
    }

    public static func run(configuration: TrainingConfiguration, train: ImageDataset, validation: ImageDataset?,
                           test: ImageDataset?, output: URL, resume: Bool = false,
                           progress: ConsoleProgress? = nil, architecture: EfficientNetConfiguration = .lite(0)) throws -> ClassificationRunResult {
        MemoryProbe.resetPeak()
        var configuration = configuration
        configuration.targetModules = configuration.targetModules(defaultingTo: ImageClassifier.defaultTargetModules)
        guard let model = configuration.model else {
            throw ConfigurationError.outOfRange(key: "model", value: "nothing", expected: "a checkpoint file or folder")
        }
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        let labelNames = (0..<train.labelCount).map(String.init)
        let classifier = try ImageClassifier(checkpoint: URL(fileURLWithPath: model), labelCount: labelNames.count,
                                             configuration: configuration, architecture: architecture)
        let pool = ImageDataset(images: train.images + (validation?.images ?? []) + (test?.images ?? []),
                                labels: train.labels + (validation?.labels ?? []) + (test?.labels ?? []))
        func examples(_ dataset: ImageDataset?, from start: Int) -> [EncodedExample]? {
            dataset.map { $0.labels.enumerated().map { EncodedExample(ids: [start + $0.offset], label: $0.element) } }
        }
        let trainer = Trainer(model: classifier.model, configuration: configuration, train: examples(train, from: 0)!,
                              validation: examples(validation, from: train.count), labelCount: labelNames.count,
                              paddingID: 0) { batch in classifier.logits(indices: batch.ids, of: pool) }
        trainer.progress = progress
        trainer.log = try TrainingLog(url: output.appendingPathComponent("log.jsonl"), appending: resume)
        let summary = try trainer.train(output: output, resume: resume)
        let counts = classifier.parameterCounts
        var result = ClassificationRunResult(method: configuration.method, counts: counts, summary: summary, output: output)
        if let testExamples = examples(test, from: train.count + (validation?.count ?? 0)) {
            result.test = trainer.evaluate(testExamples)
        }
        result.peakMemoryBytes = MemoryProbe.peakResidentBytes()
        try classifier.save(to: output, labelNames: labelNames, configuration: configuration)
        var rows = ClassificationRun.reportRows(configuration, result)
        rows.insert(("images", "\(train.count) for training at \(configuration.imageSize)×\(configuration.imageSize) px"
            + (validation.map { ", \($0.count) for validation" } ?? "") + (test.map { ", \($0.count) for test" } ?? "")), at: 0)
        try TrainingReport(title: "EfficientNet-Lite0 \(configuration.method.rawValue) fine-tuning", history: summary.history,
                           summary: rows).write(to: output.appendingPathComponent("report.html"))
        return result
    }
}
