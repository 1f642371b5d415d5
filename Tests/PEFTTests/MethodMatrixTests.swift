import Foundation
import Formats
import Models
import NN
import PEFT
import TensorCore
import Testing
import TestSupport

/// The method test matrix beyond LoRA: every method on a tiny BERT classifier checks the same
/// properties (only adapter tensors train and all get gradients, near-identity start where the
/// method has one, disabling gives the base output, merge equals unmerged or is refused,
/// save/load reproduces the output, unload gives back the very base tensors).
@Suite struct MethodMatrixTests {
    static let tinyConfiguration = BertConfiguration(vocabularySize: 20, hiddenSize: 8, hiddenLayerCount: 2, attentionHeadCount: 2,
                                                     intermediateSize: 16, maximumPositionCount: 32)
    static let batch = TokenBatch(ids: [2, 5, 7, 1, 3, 4, 9, 11, 0, 0], attentionMask: [1, 1, 1, 1, 1, 1, 1, 1, 0, 0], batchSize: 2, length: 5)

    static func makeClassifier(seed: UInt64 = 1) -> BertForSequenceClassification {
        var generator = RandomGenerator(seed: seed)
        let model = BertForSequenceClassification(configuration: tinyConfiguration, labelCount: 3, generator: &generator)
        var weights = RandomGenerator(seed: seed + 100)
        for (path, tensor) in model.namedParameters() {
            model.replaceTensor(at: path, with: .randomNormal(tensor.shape, standardDeviation: 0.5, generator: &weights))
        }
        model.setTraining(false)
        return model
    }

    static let cases: [(String, any AdapterConfiguration, Bool)] = {
        func classifier<C: AdapterConfiguration>(_ configuration: C, _ change: (inout C) -> Void) -> C {
            var copy = configuration
            change(&copy)
            return copy
        }
        return [
            ("ia3", classifier(IA3Configuration()) { $0.taskType = "SEQ_CLS" }, true),
            ("prompt", classifier(PromptTuningConfiguration(virtualTokenCount: 3)) { $0.taskType = "SEQ_CLS" }, false),
            ("prefix", classifier(PrefixTuningConfiguration(virtualTokenCount: 2)) { $0.taskType = "SEQ_CLS" }, false),
            ("prefix projection", PrefixTuningConfiguration(virtualTokenCount: 2, prefixProjection: true, encoderHiddenSize: 6), false),
            ("houlsby", BottleneckConfiguration(architecture: .houlsby, reductionFactor: 2), true),
            ("pfeiffer", classifier(BottleneckConfiguration(architecture: .pfeiffer, reductionFactor: 4)) { $0.modulesToSave = ["classifier"] }, true),
            ("bitfit", classifier(BitFitConfiguration(subset: .biases)) { $0.taskType = "SEQ_CLS" }, true),
            ("norm", BitFitConfiguration(subset: .normalization), true),
        ]
    }()

    static var caseNames: [String] { cases.map(\.0) }

    static func isAdapterPath(_ path: String) -> Bool {
        path.split(separator: ".").contains { ["ia3_l", "prompt_encoder", "adapters", "bitfit_delta", "modules_to_save"].contains(String($0)) }
    }

    @Test(arguments: caseNames)
    func properties(name: String) throws {
        let (_, configuration, startsAsIdentity) = Self.cases.first { $0.0 == name }!
        let model = Self.makeClassifier()
        let baseWeights = model.stateDict()
        let baseOutput = Tensor.withoutGradient { model(Self.batch) }
        let peft = try PeftModel(model: model, configuration: configuration, seed: 7)

        // Only adapter tensors (and modules_to_save copies) train, and each gets a gradient.
        let trainable = model.trainableParameters()
        #expect(!trainable.isEmpty)
        for (path, tensor) in model.namedParameters() { #expect(tensor.requiresGradient == Self.isAdapterPath(path), "\(name): \(path)") }
        model(Self.batch).squared().sum().backward()
        for (path, tensor) in trainable { #expect(tensor.grad != nil, "\(name): no gradient for \(path)") }
        model.zeroGradients()

        let initial = Tensor.withoutGradient { model(Self.batch) }
        if startsAsIdentity { #expect(maxAbsoluteDifferenceOf(initial, baseOutput) < 1e-6, "\(name) starts as the base model") }

        // Move every adapter tensor away from its start so the adapter changes the output.
        var generator = RandomGenerator(seed: 9)
        for (path, tensor) in trainable where !path.contains("modules_to_save") {
            model.replaceTensor(at: path, with: tensor + Tensor.randomNormal(tensor.shape, standardDeviation: 0.3, generator: &generator))
        }
        let adapted = Tensor.withoutGradient { model(Self.batch) }
        #expect(maxAbsoluteDifferenceOf(adapted, baseOutput) > 1e-3, "\(name) changes the output")
        #expect(maxAbsoluteDifferenceOf(peft.withAdaptersDisabled { model(Self.batch) }, baseOutput) < 1e-6)

        if configuration.isMergeable {
            try peft.merge()
            #expect(maxAbsoluteDifferenceOf(Tensor.withoutGradient { model(Self.batch) }, adapted) < 1e-5, "\(name) merged")
            peft.unmerge()
            for (path, layer) in peft.adapterLayers {
                for (name, tensor) in layer.baseLayer.namedParameters() {
                    #expect(tensor === baseWeights[path + "." + name], "unmerge restores \(path).\(name)")
                }
            }
        } else {
            #expect(throws: AdapterError.self) { try peft.merge() }
        }

        // Save/load round trip.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("swiftpeft-matrix-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        try peft.save(to: folder)
        #expect(try AdapterFile(folder: folder).configuration.ignoredFields.isEmpty)
        let fresh = Self.makeClassifier()
        _ = try PeftModel.load(from: folder, into: fresh)
        #expect(maxAbsoluteDifferenceOf(Tensor.withoutGradient { fresh(Self.batch) }, adapted) < 1e-5, "\(name) round trip")

        // Unload gives back the very base tensors.
        let unloaded = peft.unload()
        #expect(Set(unloaded.stateDict().keys) == Set(baseWeights.keys))
        for (path, tensor) in unloaded.stateDict() { #expect(tensor === baseWeights[path], "\(path) is the original tensor") }
        #expect(maxAbsoluteDifferenceOf(model(Self.batch), baseOutput) == 0)
    }

    @Test func methodsDoNotMixOnOneModel() throws {
        let model = Self.makeClassifier()
        let peft = try PeftModel(model: model, configuration: IA3Configuration())
        var generator = RandomGenerator(seed: 1)
        #expect(throws: AdapterError.self) { try peft.addAdapter("prompt", configuration: PromptTuningConfiguration(virtualTokenCount: 2), generator: &generator) }
        try peft.addAdapter("second", configuration: IA3Configuration(initializeToOnes: false), generator: &generator)
        try peft.setActiveAdapter("second")
        #expect(model.trainableParameters().allSatisfy { $0.path.hasSuffix(".second") })
    }

    @Test func everyPeftTypeDecodes() throws {
        for type in PeftType.allCases {
            let data = Data(#"{"peft_type": "\#(type.rawValue)", "target_modules": ["key"]}"#.utf8)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("swiftpeft-type-\(UUID())")
            defer { try? FileManager.default.removeItem(at: folder) }
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try data.write(to: folder.appendingPathComponent(AdapterFile.configurationName))
            try SafetensorsWriter.write([:], to: folder.appendingPathComponent(AdapterFile.weightsName))
            #expect(try AdapterFile(folder: folder).configuration.peftType == type)
        }
    }
}

/// Runs a Python PEFT fixture from scripts/fixtures/peft_methods.py (Fixtures/methods/<name>) on
/// MiniLM with a 2-label head: logits within 1e-4, and with `gradients` every trainable tensor's
/// gradient within 1e-4 relative. Returns the worst logit difference (nil without the asset).
func checkMethodFixture(_ name: String, gradients: Bool) throws -> Float? {
    guard let folder = try assetURL("all-MiniLM-L6-v2") else { return nil }
    let fixture = try PeftFixture("methods/" + name)
    var generator = RandomGenerator(seed: 3)
    let model = BertForSequenceClassification(configuration: try BertConfiguration.load(from: folder), labelCount: 2, generator: &generator)
    try model.bert.loadWeights(from: folder)
    let peft = try PeftModel.load(from: fixture.folder, into: model, isTrainable: gradients)
    model.setTraining(false)
    let logits = model(try MiniLMAdapterReferenceTests.batch(fixture))
    let difference = maxAbsoluteDifferenceOf(logits, try fixture.tensor("logits"))
    #expect(difference < 1e-4, "\(name): logits differ by \(difference)")
    print("\(name): max |logits - PEFT| = \(difference)")
    if gradients {
        (logits * (try fixture.tensor("logits_weights"))).sum().backward()
        try MiniLMAdapterReferenceTests.checkGradients(peft, fixture)
    }
    return difference
}

/// A MiniLM classifier with `configuration` applied, its adapter moved away from its start, saved
/// to `.cache/swift-adapters/<name>/` with the input and logits for scripts/check_swift_adapters.py.
func exportMiniLMAdapter(_ name: String, configuration: some AdapterConfiguration) throws {
    guard let folder = try assetURL("all-MiniLM-L6-v2") else { return }
    var generator = RandomGenerator(seed: 21)
    let model = BertForSequenceClassification(configuration: try BertConfiguration.load(from: folder), labelCount: 2, generator: &generator)
    try model.bert.loadWeights(from: folder)
    model.setTraining(false)
    let peft = try PeftModel(model: model, configuration: configuration, seed: 22)
    for (path, tensor) in model.trainableParameters() {
        let step = path.contains("modules_to_save") ? Float(0.5) : Float(0.1)
        model.replaceTensor(at: path, with: tensor + Tensor.randomNormal(tensor.shape, standardDeviation: step, generator: &generator))
    }
    let batch = TokenBatch(ids: [101, 7592, 2088, 2003, 2307, 102], batchSize: 1, length: 6)
    let logits = Tensor.withoutGradient { model(batch) }
    let output = swiftAdapterExportFolder.appendingPathComponent(name)
    try? FileManager.default.removeItem(at: output)
    try peft.save(to: output)
    try SafetensorsWriter.write(["input_ids": Tensor(batch.ids.map(Float.init), shape: [1, 6]), "logits": logits.contiguous()],
                                to: output.appendingPathComponent("reference.safetensors"))
    #expect(try AdapterFile(folder: output).configuration.ignoredFields.isEmpty)
}

/// LoRA on BERT's `word_embeddings`: BERT calls its tables through `TokenEmbeddingLayer`, so
/// the LoRA table works inside the model and merges.
@Suite struct EmbeddingHookTests {
    @Test func loraOnWordEmbeddingsInsideBert() throws {
        let model = MethodMatrixTests.makeClassifier()
        let base = model(MethodMatrixTests.batch)
        let peft = try PeftModel(model: model, configuration: LoRAConfiguration(rank: 2, alpha: 4, targetModules: .names(["word_embeddings"]),
                                                                                initialization: .random))
        #expect(model.module(at: "bert.embeddings.word_embeddings") is LoRAEmbedding)
        let adapted = Tensor.withoutGradient { model(MethodMatrixTests.batch) }
        #expect(maxAbsoluteDifferenceOf(adapted, base) > 1e-3)
        model(MethodMatrixTests.batch).sum().backward()
        #expect(model.trainableParameters().allSatisfy { $0.tensor.grad != nil })
        try peft.merge()
        #expect(maxAbsoluteDifferenceOf(Tensor.withoutGradient { model(MethodMatrixTests.batch) }, adapted) < 1e-5)
    }
}
