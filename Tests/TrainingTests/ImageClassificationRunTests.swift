import Formats
import Foundation
import NN
import PEFT
import Testing
import TensorCore
import TestSupport
@testable import Models
@testable import Training

/// An EfficientNet-like network small enough to train in a test: a 8-channel stem, three
/// blocks (one without expansion, one strided with expansion, one with a skip) and a 16-channel head.
func tinyEfficientNetArchitecture() -> EfficientNetConfiguration {
    var architecture = EfficientNetConfiguration.lite(0)
    architecture.stemChannels = 8
    architecture.headChannels = 16
    architecture.stages = [
        .init(repeats: 1, kernelSize: 3, stride: 1, expandRatio: 1, inputChannels: 8, outputChannels: 8),
        .init(repeats: 1, kernelSize: 3, stride: 2, expandRatio: 2, inputChannels: 8, outputChannels: 16),
        .init(repeats: 1, kernelSize: 3, stride: 1, expandRatio: 2, inputChannels: 16, outputChannels: 16),
    ]
    return architecture
}

/// A random checkpoint of the tiny network (batch-norm statistics included) as safetensors.
func writeTinyEfficientNetCheckpoint(in folder: URL) throws -> URL {
    let model = EfficientNet(configuration: tinyEfficientNetArchitecture())
    var generator = RandomGenerator(seed: 5)
    var weights = model.stateDict()
    for (key, tensor) in weights where tensor.rank == 4 {   // He initialisation keeps the signal alive through the blocks
        let fanIn = Float(tensor.shape[1] * tensor.shape[2] * tensor.shape[3])
        weights[key] = Tensor.randomNormal(tensor.shape, standardDeviation: (2 / fanIn).squareRoot(), generator: &generator)
    }
    for (key, tensor) in weights where key.hasSuffix("running_var") {
        weights[key] = Tensor((0..<tensor.count).map { _ in 0.5 + generator.nextUniform() }, shape: tensor.shape)
    }
    for (key, tensor) in weights where key.hasSuffix("running_mean") {
        weights[key] = Tensor.randomNormal(tensor.shape, standardDeviation: 0.1, generator: &generator)
    }
    let url = folder.appendingPathComponent("tiny-efficientnet.safetensors")
    try SafetensorsWriter.write(weights, to: url)
    return url
}

/// IDX files `<prefix>-images-idx3-ubyte` / `<prefix>-labels-idx1-ubyte` of 12×12 gray images
/// in three classes: a bright top, left or bottom-right quarter on noise.
func writeTinyIDX(in folder: URL, prefix: String, count: Int, seed: UInt64) throws -> URL {
    var generator = RandomGenerator(seed: seed)
    func header(_ sizes: [Int]) -> [UInt8] {
        [0, 0, 8, UInt8(sizes.count)] + sizes.flatMap { size in (0..<4).map { UInt8((size >> (8 * (3 - $0))) & 0xFF) } }
    }
    var images = header([count, 12, 12]), labels = header([count])
    for index in 0..<count {
        let label = index % 3
        labels.append(UInt8(label))
        for y in 0..<12 {
            for x in 0..<12 {
                let bright = label == 0 ? y < 6 : label == 1 ? x < 6 : (x >= 6 && y >= 6)
                images.append(UInt8(Int(generator.next() % 60) + (bright ? 180 : 0)))
            }
        }
    }
    try Data(images).write(to: folder.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
    try Data(labels).write(to: folder.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
    return folder.appendingPathComponent("\(prefix)-images-idx3-ubyte")
}

@Suite(.serialized) struct ImageClassificationRunTests {
    func settings(_ method: TrainingConfiguration.Method, model: URL, data: URL, test: URL, output: URL) -> TrainingConfiguration {
        var configuration = TrainingConfiguration()
        configuration.task = "image-classification"
        configuration.method = method
        configuration.model = model.path
        configuration.data = data.path
        configuration.testData = test.path
        configuration.output = output.path
        configuration.imageSize = 16
        configuration.epochs = 2
        configuration.batchSize = 6
        configuration.learningRate = 1e-2
        configuration.dropout = 0
        return configuration
    }

    /// Three steps of head or LoRA training change exactly the parameters the method trains:
    /// the head, plus for LoRA the adapters; base weights and frozen batch-norm statistics stay.
    @Test(arguments: [TrainingConfiguration.Method.head, .lora])
    func trainsOnlyTheMethodsParameters(method: TrainingConfiguration.Method) throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = try writeTinyEfficientNetCheckpoint(in: folder)
        let data = try ImageDataset.load(from: writeTinyIDX(in: folder, prefix: "train", count: 18, seed: 1).path)
        var configuration = settings(method, model: checkpoint, data: folder, test: folder, output: folder)
        configuration.epochs = 1
        let classifier = try ImageClassifier(checkpoint: checkpoint, labelCount: 3, configuration: configuration,
                                             architecture: tinyEfficientNetArchitecture())
        let before = Dictionary(uniqueKeysWithValues: classifier.model.stateDict().map { ($0.key, $0.value.toArray()) })
        let examples = data.labels.enumerated().map { EncodedExample(ids: [$0.offset], label: $0.element) }
        let trainer = Trainer(model: classifier.model, configuration: configuration, train: examples, validation: nil,
                              labelCount: 3, paddingID: 0) { classifier.logits(indices: $0.ids, of: data) }
        let summary = try trainer.train(output: folder.appendingPathComponent("run"))
        #expect(summary.steps == 3)
        let changed = Set(classifier.model.stateDict().filter { before[$0.key] != $0.value.toArray() }.map(\.key))
        let expected: (String) -> Bool = method == .head
            ? { $0.hasPrefix("_fc.") }
            : { $0.contains(".lora_") || $0.hasPrefix("_fc.modules_to_save.") }
        #expect(!changed.isEmpty && changed.allSatisfy(expected), "\(changed.sorted())")
        #expect(changed.contains { $0.hasPrefix("_fc.") })
        if method == .lora {
            let loraB = before.keys.filter { $0.contains(".lora_B.") }
            #expect(loraB.count == 7 && loraB.allSatisfy(changed.contains), "\(loraB.sorted())")   // stem, 2 expansions, 3 projections, head; no depthwise
        }
    }

    /// Trained outputs saved and loaded into a fresh base give the same logits.
    @Test(arguments: [TrainingConfiguration.Method.head, .lora, .full])
    func saveAndLoadGiveTheSameLogits(method: TrainingConfiguration.Method) throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = try writeTinyEfficientNetCheckpoint(in: folder)
        let data = try ImageDataset.load(from: writeTinyIDX(in: folder, prefix: "t10k", count: 6, seed: 2).path)
        let configuration = settings(method, model: checkpoint, data: folder, test: folder, output: folder)
        let classifier = try ImageClassifier(checkpoint: checkpoint, labelCount: 3, configuration: configuration,
                                             architecture: tinyEfficientNetArchitecture())
        var generator = RandomGenerator(seed: 9)
        for (path, tensor) in classifier.model.trainableParameters() {   // as if trained
            classifier.model.replaceTensor(at: path, with: tensor + Tensor.randomNormal(tensor.shape, standardDeviation: 0.1, generator: &generator))
        }
        classifier.model.setTraining(false)
        let expected = Tensor.withoutGradient { classifier.logits(indices: Array(0..<6), of: data) }
        let output = folder.appendingPathComponent("trained")
        try classifier.save(to: output, labelNames: ["a", "b", "c"], configuration: configuration)
        let loaded = try ImageClassifier.load(checkpoint: checkpoint, trainedFolder: output, architecture: tinyEfficientNetArchitecture())
        #expect(loaded.labelNames == ["a", "b", "c"])
        loaded.classifier.model.setTraining(false)
        let actual = Tensor.withoutGradient { loaded.classifier.logits(indices: Array(0..<6), of: data) }
        #expect(maxAbsoluteDifference(actual, expected) < 1e-5)
    }

    /// The whole run from IDX files: learns the three patterns, writes its outputs, and the
    /// saved classifier evaluates the test files exactly as the run did.
    @Test func runsFromIDXFilesAndEvaluatesAsSaved() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = try writeTinyEfficientNetCheckpoint(in: folder)
        _ = try writeTinyIDX(in: folder, prefix: "train", count: 60, seed: 3)
        _ = try writeTinyIDX(in: folder, prefix: "t10k", count: 30, seed: 4)
        let output = folder.appendingPathComponent("out")
        var configuration = settings(.lora, model: checkpoint, data: folder, test: folder, output: output)
        configuration.epochs = 6
        configuration.trainLimit = 48
        let (train, validation, test) = try ImageClassificationRun.loadData(configuration)
        #expect(train.count == 48 && Set(train.labels).count == 3 && validation == nil && test?.count == 30)
        #expect((0..<3).map { label in train.labels.filter { $0 == label }.count } == [16, 16, 16])
        let result = try ImageClassificationRun.run(configuration: configuration, train: train, validation: nil, test: test,
                                                    output: output, architecture: tinyEfficientNetArchitecture())
        #expect(result.steps == 6 * 8)
        #expect(result.test!.accuracy > 0.8, "test accuracy \(result.test!.accuracy)")
        for name in ["adapter_config.json", "adapter_model.safetensors", "labels.json", "training_config.json", "log.jsonl", "report.html"] {
            #expect(FileManager.default.fileExists(atPath: output.appendingPathComponent(name).path), "\(name)")
        }
        let saved = try TrainingConfiguration.load(from: output.appendingPathComponent("training_config.json"))
        #expect(saved.targetModules == ImageClassifier.defaultTargetModules && saved.imageSize == 16)
        let loaded = try ImageClassifier.load(checkpoint: checkpoint, trainedFolder: output, architecture: tinyEfficientNetArchitecture())
        let metrics = try loaded.classifier.evaluate(test!, batchSize: 7)
        #expect(metrics.accuracy == result.test!.accuracy)
        #expect(abs(metrics.loss - result.test!.loss) < 1e-5)
    }

    @Test func balancedSubsetsShareTheCountAmongClasses() {
        let images = (0..<20).map { _ in Image(width: 1, height: 1, channels: 1, pixels: [0]) }
        let labels = (0..<20).map { $0 < 2 ? 0 : $0 < 11 ? 1 : 2 }   // 2, 9 and 9 of the classes
        let subset = ImageDataset(images: images, labels: labels).balancedSubset(12, seed: 1)
        #expect((0..<3).map { label in subset.labels.filter { $0 == label }.count } == [2, 5, 5])
        #expect(ImageDataset(images: images, labels: labels).balancedSubset(0, seed: 1).count == 20)
    }
}

