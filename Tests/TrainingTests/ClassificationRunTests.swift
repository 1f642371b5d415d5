import Formats
import Foundation
import Models
import PEFT
import Testing
import TensorCore
@testable import Training

/// A tiny BERT model folder in Hugging Face layout (config.json, model.safetensors, vocab.txt).
func makeTinyModelFolder(in folder: URL) throws -> URL {
    let modelFolder = folder.appendingPathComponent("tiny-bert")
    try FileManager.default.createDirectory(at: modelFolder, withIntermediateDirectories: true)
    let words = ["good", "great", "fine", "bad", "awful", "poor", "movie", "plot", "the", "a", "very", "not"]
    let vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words
    try Data((vocabulary.joined(separator: "\n") + "\n").utf8).write(to: modelFolder.appendingPathComponent("vocab.txt"))
    let configuration = BertConfiguration(vocabularySize: vocabulary.count, hiddenSize: 16, hiddenLayerCount: 1,
                                          attentionHeadCount: 2, intermediateSize: 32, maximumPositionCount: 32)
    try JSONEncoder().encode(configuration).write(to: modelFolder.appendingPathComponent("config.json"))
    let model = BertModel(configuration: configuration)
    var generator = RandomGenerator(seed: 11)
    var weights: [String: Tensor] = [:]
    for (path, tensor) in model.namedParameters() {
        weights[path] = path.hasSuffix("LayerNorm.weight") ? tensor : Tensor.randomNormal(tensor.shape, standardDeviation: 0.3, generator: &generator)
    }
    try SafetensorsWriter.write(weights, to: modelFolder.appendingPathComponent("model.safetensors"))
    return modelFolder
}

/// Sentiment-like JSON lines: positive words -> "pos", negative -> "neg".
func writeSentimentData(in folder: URL, name: String, count: Int, seed: UInt64) throws -> URL {
    var generator = RandomGenerator(seed: seed)
    let positive = ["good", "great", "fine"], negative = ["bad", "awful", "poor"], filler = ["movie", "plot", "the", "a", "very"]
    var lines: [String] = []
    for index in 0..<count {
        let isPositive = index % 2 == 0
        var words = (0..<(2 + Int(generator.next() % 4))).map { _ in filler[Int(generator.next() % 5)] }
        let pool = isPositive ? positive : negative
        words.insert(pool[Int(generator.next() % 3)], at: Int(generator.next() % UInt64(words.count)))
        lines.append("{\"text\": \"\(words.joined(separator: " "))\", \"label\": \"\(isPositive ? "pos" : "neg")\"}")
    }
    let url = folder.appendingPathComponent(name)
    try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url)
    return url
}

@Suite(.serialized) struct ClassificationRunTests {
    func settings(_ method: TrainingConfiguration.Method, model: URL, data: URL, validation: URL, output: URL) -> TrainingConfiguration {
        var configuration = TrainingConfiguration()
        configuration.method = method
        configuration.model = model.path
        configuration.data = data.path
        configuration.validationData = validation.path
        configuration.output = output.path
        configuration.epochs = 4
        configuration.batchSize = 8
        configuration.maxLength = 16
        configuration.learningRate = 1e-2
        return configuration
    }

    @Test(arguments: [TrainingConfiguration.Method.lora, .head, .full])
    func trainsSavesAndReloadsWithTheSameMetrics(method: TrainingConfiguration.Method) throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try makeTinyModelFolder(in: folder)
        let data = try writeSentimentData(in: folder, name: "train.jsonl", count: 64, seed: 1)
        let validation = try writeSentimentData(in: folder, name: "validation.jsonl", count: 24, seed: 2)
        let output = folder.appendingPathComponent("out")
        let configuration = settings(method, model: model, data: data, validation: validation, output: output)
        let (train, held) = try ClassificationRun.loadData(configuration)
        let result = try ClassificationRun.run(configuration: configuration, modelFolder: model, train: train,
                                               validation: held, test: held, output: output)
        #expect(result.test == result.validation)
        // The run logs its measured peak beside the estimate it made before training.
        #expect(result.estimatedPeakMemoryBytes.map { $0 > 0 } == true)
        let log = try String(contentsOf: output.appendingPathComponent("log.jsonl"), encoding: .utf8)
        #expect(log.split(separator: "\n").contains { $0.contains(#""event":"memory""#) && $0.contains("estimated_peak_memory_bytes") })
        for name in ["labels.json", "training_config.json", "log.jsonl", "report.html", "checkpoint.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: output.appendingPathComponent(name).path), "\(name)")
        }
        switch method {
        case .lora:
            #expect(FileManager.default.fileExists(atPath: output.appendingPathComponent("adapter_model.safetensors").path))
            let keys = try SafetensorsFile(url: output.appendingPathComponent("adapter_model.safetensors")).names
            #expect(keys.contains("base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight"))
            #expect(keys.contains("base_model.model.classifier.modules_to_save.weight") || keys.contains("base_model.model.classifier.weight"))
        case .head:
            #expect(result.trainableParameters == 16 * 2 + 2)
        case .full:
            #expect(result.trainableParameters == result.totalParameters)
        default:
            Issue.record("the other methods are tested in MethodRunTests")
        }
        // Reload from files and evaluate: the same figures.
        let (reloaded, labels) = try SequenceClassifier.load(modelFolder: model, trainedFolder: output)
        #expect(labels == ["neg", "pos"])
        let metrics = evaluateClassifier(reloaded.encode(held, maxLength: 16), labelCount: 2, batchSize: 64,
                                         paddingID: reloaded.paddingID, model: reloaded.model) { reloaded.logits($0) }
        #expect(abs(metrics.accuracy - result.test!.accuracy) < 1e-9)
        #expect(abs(metrics.loss - result.test!.loss) < 1e-5)
    }

    @Test func loraLearnsTheTinyTask() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = try makeTinyModelFolder(in: folder)
        let data = try writeSentimentData(in: folder, name: "train.jsonl", count: 96, seed: 3)
        let validation = try writeSentimentData(in: folder, name: "validation.jsonl", count: 32, seed: 4)
        var configuration = settings(.lora, model: model, data: data, validation: validation, output: folder.appendingPathComponent("out"))
        configuration.epochs = 16   // 8 epochs learned the task for some seeds only
        configuration.rank = 4
        let (train, held) = try ClassificationRun.loadData(configuration)
        let result = try ClassificationRun.run(configuration: configuration, modelFolder: model, train: train, validation: held,
                                               test: nil, output: folder.appendingPathComponent("out"))
        #expect(result.validation!.accuracy >= 0.8)
    }

    @Test func heldOutValidationWhenNoneIsGiven() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = try writeSentimentData(in: folder, name: "train.jsonl", count: 200, seed: 5)
        var configuration = TrainingConfiguration()
        configuration.data = data.path
        let (train, validation) = try ClassificationRun.loadData(configuration)
        #expect(train.examples.count + validation.examples.count == 200)
        #expect(!validation.examples.isEmpty && validation.examples.count < 60)
    }
}

@Suite(.serialized) struct AdapterResumeTests {
    /// LoRA (adapter factors and the `modules_to_save` head) with LoRA dropout resumes exactly:
    /// the LoRA layers' dropout generators are checkpointed with the run.
    @Test func loraRunResumesExactly() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let modelFolder = try makeTinyModelFolder(in: folder)
        let data = try writeSentimentData(in: folder, name: "train.jsonl", count: 48, seed: 6)
        var configuration = TrainingConfiguration()
        configuration.method = .lora
        configuration.dropout = 0.2
        configuration.rank = 4
        configuration.epochs = 2
        configuration.batchSize = 8
        configuration.learningRate = 1e-2
        configuration.evalEvery = 4
        configuration.data = data.path
        let (train, validation) = try ClassificationRun.loadData(configuration)
        func makeTrainer() throws -> (Trainer, SequenceClassifier) {
            let classifier = try SequenceClassifier(modelFolder: modelFolder, labelCount: 2, configuration: configuration)
            let trainer = Trainer(model: classifier.model, configuration: configuration, train: classifier.encode(train, maxLength: 16),
                                  validation: classifier.encode(validation, maxLength: 16), labelCount: 2,
                                  paddingID: classifier.paddingID) { classifier.logits($0) }
            return (trainer, classifier)
        }
        let (whole, reference) = try makeTrainer()
        try whole.train(output: folder.appendingPathComponent("whole"))
        let (first, _) = try makeTrainer()
        try first.train(output: folder.appendingPathComponent("split"), stopAfterSteps: 5)
        let (second, resumed) = try makeTrainer()
        try second.train(output: folder.appendingPathComponent("split"), resume: true)
        let expected = reference.model.trainableParameters(), actual = resumed.model.trainableParameters()
        #expect(expected.map(\.path) == actual.map(\.path))
        #expect(expected.contains { $0.path.contains("lora_A") })
        for (lhs, rhs) in zip(expected, actual) {
            #expect(zip(lhs.tensor.toArray(), rhs.tensor.toArray()).allSatisfy { abs($0 - $1) <= 1e-6 }, "\(lhs.path)")
        }
    }
}
