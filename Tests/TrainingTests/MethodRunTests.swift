import Formats
import Foundation
import Models
import PEFT
import Testing
import TensorCore
@testable import Training

/// Every method beyond lora, full and head, run end to end on the tiny BERT (hidden 16, one
/// layer, feed-forward 32, two labels): what trains, what stays bit-identical, the saved
/// outputs and their reload.
@Suite(.serialized) struct MethodRunTests {
    static let methods: [TrainingConfiguration.Method] = [.ia3, .promptTuning, .prefixTuning, .houlsby, .pfeiffer, .bitFit, .norm,
                                                          .selective, .plannedLoRA]
    static let headCount = 16 * 2 + 2

    func settings(_ method: TrainingConfiguration.Method, data: URL, validation: URL, output: URL) -> TrainingConfiguration {
        var configuration = TrainingConfiguration()
        configuration.method = method
        configuration.data = data.path
        configuration.validationData = validation.path
        configuration.output = output.path
        configuration.epochs = 1
        configuration.batchSize = 8
        configuration.maxLength = 16
        configuration.learningRate = 1e-2
        configuration.numVirtualTokens = 4
        configuration.reductionFactor = 4
        configuration.analysisBatches = 2
        configuration.density = 0.05
        configuration.rank = 2
        return configuration
    }

    /// The trainable count each method's definition gives, from the base model's tensors.
    func expectedTrainableCount(_ configuration: TrainingConfiguration, base: [String: [Int]], encoderCount: Int) -> Int? {
        func sum(_ include: (String) -> Bool) -> Int {
            base.filter { include($0.key) }.values.reduce(0) { $0 + $1.reduce(1, *) }
        }
        let (c, feedForward, n) = (16, 32, configuration.numVirtualTokens)
        let bottleneck = Int(Double(c) / configuration.reductionFactor)
        let adapter = (c * bottleneck + bottleneck) + (bottleneck * c + c)
        let encoder: Int? = switch configuration.method {
        case .ia3: c + c + c + feedForward   // key, value outputs; both output.dense inputs
        case .promptTuning: n * c
        case .prefixTuning: n * 1 * 2 * c
        case .houlsby: 2 * adapter
        case .pfeiffer: adapter
        case .bitFit: sum { $0.hasPrefix("bert.") && $0.hasSuffix(".bias") }
        case .norm: sum { $0.hasPrefix("bert.") && $0.contains("LayerNorm.") }
        case .selective: Int((configuration.density * Double(encoderCount)).rounded())
        default: nil
        }
        return encoder.map { $0 + Self.headCount }
    }

    @Test(arguments: methods)
    func trainsOnlyItsParametersSavesAndReloads(method: TrainingConfiguration.Method) throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let modelFolder = try makeTinyModelFolder(in: folder)
        let data = try writeSentimentData(in: folder, name: "train.jsonl", count: 32, seed: 1)
        let validation = try writeSentimentData(in: folder, name: "validation.jsonl", count: 16, seed: 2)
        let output = folder.appendingPathComponent("out")
        let configuration = settings(method, data: data, validation: validation, output: output)
        let (train, held) = try ClassificationRun.loadData(configuration)
        // The untrained classifier, built the same way (same seeds, same analysis).
        let fresh = try SequenceClassifier(modelFolder: modelFolder, labelCount: 2, configuration: configuration,
                                           analysis: MethodAnalysis(data: train))
        let before = Dictionary(uniqueKeysWithValues: fresh.model.namedParameters().map { ($0.path, $0.tensor.toArray()) })
        let (result, trained) = try ClassificationRun.trainedClassifier(configuration: configuration, modelFolder: modelFolder,
                                                                        train: train, validation: held, test: nil, output: output)
        #expect(result.steps == 4)

        // (a) Only the method's parameters train; everything else is bit-identical.
        let base = try SafetensorsFile(url: modelFolder.appendingPathComponent("model.safetensors"))
        let baseShapes = Dictionary(uniqueKeysWithValues: try base.names.map { ("bert." + $0, try base.tensor($0).shape) })
        let encoderCount = baseShapes.values.reduce(0) { $0 + $1.reduce(1, *) }
        if let expected = expectedTrainableCount(configuration, base: baseShapes, encoderCount: encoderCount) {
            #expect(result.trainableParameters == expected)
        }
        var changed = 0
        for (path, tensor) in trained.model.namedParameters() {
            let values = tensor.toArray(), original = before[path]!
            if let selective = trained.selective, tensor.requiresGradient {
                let selected = Set(selective.mask.indices[path] ?? [])
                #expect(values.indices.allSatisfy { selected.contains($0) || values[$0].bitPattern == original[$0].bitPattern }, "\(path)")
            } else if !tensor.requiresGradient {
                #expect(zip(values, original).allSatisfy { $0.bitPattern == $1.bitPattern }, "\(path) changed although frozen")
            }
            if values != original { changed += 1 }
        }
        #expect(changed > 0)

        // (b) The memory estimate made before training describes this method (the same trainable
        // count); prompt and prefix tuning have none.
        #expect((result.estimatedPeakMemoryBytes == nil) == [.promptTuning, .prefixTuning].contains(method))
        if let estimated = RunMemoryEstimate.method(configuration, classifier: trained), method != .selective {
            let estimate = MemoryEstimator(configuration: trained.model.bert.configuration, labelCount: 2)
                .estimate(method: estimated, batchSize: 2, tokens: 4, gemmGigaflops: 10, elementwiseGigabytesPerSecond: 10,
                      optimizerElementsPerSecond: 1e8)
            #expect(estimate.trainableParameterCount == result.trainableParameters)
        }

        // (c) The outputs of the method.
        var names = ["labels.json", "training_config.json", "checkpoint.safetensors"]
        switch method {
        case .selective: names += [SelectiveMethod.diffFileName, SelectiveMethod.maskFileName, SequenceClassifier.weightsFileName]
        case .plannedLoRA: names += [AdapterFile.configurationName, AdapterFile.weightsName, PlannedLoRA.planFileName]
        default: names += [AdapterFile.configurationName, AdapterFile.weightsName]
        }
        for name in names { #expect(FileManager.default.fileExists(atPath: output.appendingPathComponent(name).path), "\(name)") }
        if method == .plannedLoRA {
            let plan = try JSONDecoder().decode(BudgetPlanner.LoRAPlan.self, from: Data(contentsOf: output.appendingPathComponent(PlannedLoRA.planFileName)))
            #expect(plan.budget == 2 * 2 * (16 + 16))   // uniform r=2 on query and value
            #expect(plan.parameterCount <= plan.budget && plan.parameterCount > 0)
            #expect(result.trainableParameters == plan.parameterCount + Self.headCount)
        }

        // (d) Reloaded from the files: the same logits.
        let (reloaded, labels) = try SequenceClassifier.load(modelFolder: modelFolder, trainedFolder: output)
        #expect(labels == ["neg", "pos"])
        let batch = LabeledBatch(reloaded.encode(held, maxLength: 16), paddingID: reloaded.paddingID)
        trained.model.setTraining(false)
        reloaded.model.setTraining(false)
        let (expected, actual) = Tensor.withoutGradient { (trained.logits(batch.tokens).toArray(), reloaded.logits(batch.tokens).toArray()) }
        #expect(expected.count == 16 * 2)
        #expect(zip(expected, actual).allSatisfy { abs($0 - $1) <= 1e-6 })
    }

    /// Resumed runs end with the weights of uninterrupted ones; a resumed selective run reads
    /// its mask from the output folder (here it is given other data to score, which it ignores).
    @Test(arguments: [TrainingConfiguration.Method.selective, .houlsby])
    func resumesExactly(method: TrainingConfiguration.Method) throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let modelFolder = try makeTinyModelFolder(in: folder)
        let data = try writeSentimentData(in: folder, name: "train.jsonl", count: 48, seed: 6)
        let other = try writeSentimentData(in: folder, name: "other.jsonl", count: 48, seed: 9)
        var configuration = settings(method, data: data, validation: data, output: folder)
        configuration.epochs = 2
        configuration.evalEvery = 4
        let train = try TextClassificationData.load(from: data)
        let otherData = try TextClassificationData.load(from: other, labelNames: train.labelNames)
        func makeTrainer(_ analysis: MethodAnalysis) throws -> (Trainer, SequenceClassifier) {
            let classifier = try SequenceClassifier(modelFolder: modelFolder, labelCount: 2, configuration: configuration, analysis: analysis)
            let trainer = Trainer(model: classifier.model, configuration: configuration, train: classifier.encode(train, maxLength: 16),
                                  validation: classifier.encode(train, maxLength: 16), labelCount: 2,
                                  paddingID: classifier.paddingID) { classifier.logits($0) }
            trainer.updateMask = classifier.selective
            return (trainer, classifier)
        }
        let whole = folder.appendingPathComponent("whole"), split = folder.appendingPathComponent("split")
        let (wholeTrainer, reference) = try makeTrainer(MethodAnalysis(data: train, planFolder: whole))
        try wholeTrainer.train(output: whole)
        let (first, _) = try makeTrainer(MethodAnalysis(data: train, planFolder: split))
        try first.train(output: split, stopAfterSteps: 5)
        let (second, resumed) = try makeTrainer(MethodAnalysis(data: otherData, planFolder: split, reusesSavedPlan: true))
        try second.train(output: split, resume: true)
        if let saved = resumed.selective?.mask, let chosen = reference.selective?.mask {
            #expect(saved.selectedPaths == chosen.selectedPaths)
            #expect(saved.selectedPaths.allSatisfy { saved.indices[$0] == chosen.indices[$0] })
        }
        let expected = reference.model.trainableParameters(), actual = resumed.model.trainableParameters()
        #expect(expected.map(\.path) == actual.map(\.path))
        for (lhs, rhs) in zip(expected, actual) {
            #expect(zip(lhs.tensor.toArray(), rhs.tensor.toArray()).allSatisfy { abs($0 - $1) <= 1e-6 }, "\(lhs.path)")
        }
    }

    /// The analysis behind selective and planned-lora scores each example as one gradient
    /// sample (FISH-mask's per-example Fisher): its Fisher score is the mean over the examples
    /// of the first `analysis_batches` batches of each example's squared gradient, recomputed
    /// here one example at a time in the training batcher's order.
    @Test func analysisFisherIsThePerExampleMeanOfSquaredGradients() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let modelFolder = try makeTinyModelFolder(in: folder)
        let data = try writeSentimentData(in: folder, name: "train.jsonl", count: 40, seed: 3)
        let configuration = settings(.full, data: data, validation: data, output: folder)   // 2 batches of 8
        let train = try TextClassificationData.load(from: data)
        let classifier = try SequenceClassifier(modelFolder: modelFolder, labelCount: 2, configuration: configuration)
        let analysis = MethodSetup.scoreSensitivity(configuration, classifier: classifier, data: train)
        #expect(analysis.sampleCount == 16)

        let model = classifier.model
        model.setTraining(false)
        let path = "bert.encoder.layer.0.attention.self.query.weight"
        let weight = try #require(model.namedParameters().first { $0.path == path }).tensor
        var batches = Batcher(examples: classifier.encode(train, maxLength: configuration.maxLength), batchSize: 8,
                              paddingID: classifier.paddingID, seed: configuration.seed)
        var sums = [Double](repeating: 0, count: weight.count)
        for _ in 0..<2 {
            let next = batches.next()
            let batch = try #require(next)
            for row in 0..<batch.labels.count {
                let length = batch.tokens.length, range = row * length..<(row + 1) * length
                let real = batch.tokens.attentionMask[range].reduce(0, +)
                let tokens = TokenBatch(ids: Array(batch.tokens.ids[range].prefix(real)), batchSize: 1, length: real)
                weight.grad = nil
                crossEntropy(logits: model(tokens), targets: [batch.labels[row]]).backward()
                let gradient = try #require(weight.grad).toArray()
                for index in sums.indices { sums[index] += Double(gradient[index] * gradient[index]) }
            }
        }
        let expected = sums.map { $0 / 16 }, actual = analysis.scores(.fisher, path: path).toArray()
        let scale = expected.max() ?? 0
        #expect(scale > 0)
        #expect(zip(expected, actual).allSatisfy { abs($0 - Double($1)) <= 1e-4 * scale })
    }

    /// `mask_scope: per-tensor`: every encoder tensor trains round(density × its size) elements
    /// (the global mask lets tensors compete), the classifier trains whole.
    @Test func aPerTensorMaskGivesEveryEncoderTensorItsShare() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (classifier, configuration) = try selectiveClassifier(in: folder, seed: 4) { $0.maskScope = .perTensor }
        let mask = try #require(classifier.selective?.mask)
        for (path, tensor) in classifier.model.namedParameters() {
            let selected = mask.indices[path]?.count ?? 0
            let expected = path.hasPrefix("classifier.") ? tensor.count : Int((configuration.density * Double(tensor.count)).rounded())
            #expect(selected == expected, "\(path)")
        }
    }

    /// `mask_score: magnitude`: the global mask holds the encoder elements of largest |w|; every
    /// selected one outweighs every unselected one.
    @Test func aMagnitudeMaskHoldsTheLargestWeights() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (classifier, _) = try selectiveClassifier(in: folder, seed: 5) { $0.maskScore = .magnitude }
        let mask = try #require(classifier.selective?.mask)
        var smallestSelected = Float.infinity, largestUnselected: Float = 0
        for (path, tensor) in classifier.model.namedParameters() where !path.hasPrefix("classifier.") {
            let selected = Set(mask.indices[path] ?? [])
            for (index, value) in tensor.toArray().enumerated() {
                if selected.contains(index) { smallestSelected = min(smallestSelected, abs(value)) }
                else { largestUnselected = max(largestUnselected, abs(value)) }
            }
        }
        #expect(mask.selectedCount > 0)
        #expect(smallestSelected >= largestUnselected)
    }

    /// `mask_score: movement`: the probe's full fine-tuning steps leave the base weights as they
    /// were, and the mask takes its global share.
    @Test func aMovementMaskLeavesTheBaseWeightsUntouched() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (classifier, configuration) = try selectiveClassifier(in: folder, seed: 6) {
            $0.maskScore = .movement
            $0.movementSteps = 3
        }
        let mask = try #require(classifier.selective?.mask)
        var base = configuration
        base.method = .head
        let reference = try SequenceClassifier(modelFolder: folder.appendingPathComponent("tiny-bert"), labelCount: 2, configuration: base)
        let referenceWeights = Dictionary(uniqueKeysWithValues: reference.model.namedParameters().map { ($0.path, $0.tensor.toArray()) })
        var encoderCount = 0
        for (path, tensor) in classifier.model.namedParameters() where !path.hasPrefix("classifier.") {
            #expect(tensor.toArray() == referenceWeights[path], "\(path)")
            encoderCount += tensor.count
        }
        let headCount = classifier.model.namedParameters().filter { $0.path.hasPrefix("classifier.") }.reduce(0) { $0 + $1.tensor.count }
        #expect(mask.selectedCount == Int((configuration.density * Double(encoderCount)).rounded()) + headCount)
    }

    /// A selective classifier of the tiny model on 16 generated examples, its mask chosen under
    /// the settings `configure` leaves.
    private func selectiveClassifier(in folder: URL, seed: UInt64,
                                     _ configure: (inout TrainingConfiguration) -> Void) throws -> (SequenceClassifier, TrainingConfiguration) {
        let modelFolder = try makeTinyModelFolder(in: folder)
        let data = try writeSentimentData(in: folder, name: "train.jsonl", count: 16, seed: seed)
        var configuration = settings(.selective, data: data, validation: data, output: folder)
        configure(&configuration)
        let classifier = try SequenceClassifier(modelFolder: modelFolder, labelCount: 2, configuration: configuration,
                                                analysis: MethodAnalysis(data: try TextClassificationData.load(from: data)))
        return (classifier, configuration)
    }

    @Test func resumingWithoutTheSavedMaskIsAnErrorNamingIt() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let modelFolder = try makeTinyModelFolder(in: folder)
        let data = try writeSentimentData(in: folder, name: "train.jsonl", count: 16, seed: 6)
        let configuration = settings(.selective, data: data, validation: data, output: folder)
        let analysis = MethodAnalysis(data: try TextClassificationData.load(from: data), planFolder: folder, reusesSavedPlan: true)
        #expect(throws: DataError.missingFile(file: folder.appendingPathComponent(SelectiveMethod.maskFileName).path)) {
            try SequenceClassifier(modelFolder: modelFolder, labelCount: 2, configuration: configuration, analysis: analysis)
        }
        #expect(throws: ConfigurationError.self) {
            try SequenceClassifier(modelFolder: modelFolder, labelCount: 2, configuration: configuration)
        }
    }

    @Test func promptLengthMustFitThePositions() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let modelFolder = try makeTinyModelFolder(in: folder)
        var configuration = TrainingConfiguration()
        configuration.method = .prefixTuning
        configuration.maxLength = 16
        configuration.numVirtualTokens = 20   // 16 + 20 > 32 positions
        #expect(throws: ConfigurationError.outOfRange(key: "num_virtual_tokens", value: "20",
                                                      expected: "at most 16: with --max-length 16 the model's 32 positions must hold both")) {
            try SequenceClassifier(modelFolder: modelFolder, labelCount: 2, configuration: configuration)
        }
    }
}
