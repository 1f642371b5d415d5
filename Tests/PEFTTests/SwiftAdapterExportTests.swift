import Foundation
import Formats
import Models
import NN
import PEFT
import TensorCore
import Testing
import TestSupport

/// Writes adapters trained-from-random by SwiftPEFT to `.cache/swift-adapters/<case>/` with
/// `reference.safetensors` (base weights of tiny models, the input, SwiftPEFT's output), for
/// scripts/check_swift_adapters.py to load into Python PEFT and compare.
@Suite(.serialized) struct SwiftAdapterExportTests {
    func export(_ name: String, _ peft: PeftModel, reference: [String: Tensor]) throws {
        let folder = swiftAdapterExportFolder.appendingPathComponent(name)
        try? FileManager.default.removeItem(at: folder)
        try peft.save(to: folder)
        try SafetensorsWriter.write(reference.mapValues { $0.contiguous() }, to: folder.appendingPathComponent("reference.safetensors"))
        let reloaded = try AdapterFile(folder: folder)
        #expect(reloaded.configuration.ignoredFields.isEmpty)
    }

    @Test(arguments: ["mlp_lora", "mlp_dora", "conv_rslora"])
    func tinyModels(name: String) throws {
        let convolution = name.hasPrefix("conv")
        let model: Module & UnaryLayer = convolution ? TinyConv(seed: 11) : TinyMLP(seed: 11)
        model.setTraining(false)
        let base = model.stateDict()
        var configuration = LoRAConfiguration(rank: 3, alpha: 5, targetModules: .names(convolution ? ["conv1", "conv2"] : ["fc1", "fc2"]),
                                              initialization: .random, useRSLoRA: name.hasSuffix("rslora"), useDoRA: name.hasSuffix("dora"))
        configuration.modulesToSave = convolution ? nil : ["classifier"]
        let peft = try PeftModel(model: model, configuration: configuration, seed: 12)
        let input = convolution ? Tensor.randomNormal([2, 2, 6, 6], seed: 13) : Tensor.randomNormal([4, 6], seed: 13)
        if let copy = model.module(at: "classifier.modules_to_save.default") {
            copy.replaceTensor(at: "bias", with: Tensor.randomNormal([3], seed: 14))   // a trained head differs from the original
        }
        let output = Tensor.withoutGradient { model(input) }
        var reference = Dictionary(uniqueKeysWithValues: base.map { ("base." + $0.key, $0.value) })
        reference["input"] = input
        reference["output"] = output
        try export(name, peft, reference: reference)
    }

    @Test func miniLMQueryValueWithClassifier() throws {
        guard let folder = try assetURL("all-MiniLM-L6-v2") else { return }
        var generator = RandomGenerator(seed: 21)
        let model = BertForSequenceClassification(configuration: try BertConfiguration.load(from: folder), labelCount: 2, generator: &generator)
        try model.bert.loadWeights(from: folder)
        model.setTraining(false)
        var configuration = LoRAConfiguration(rank: 4, alpha: 8, targetModules: .names(["query", "value"]), initialization: .random, useDoRA: true)
        configuration.modulesToSave = ["classifier"]
        configuration.taskType = "SEQ_CLS"
        let peft = try PeftModel(model: model, configuration: configuration, seed: 22)
        let batch = TokenBatch(ids: [101, 7592, 2088, 2003, 2307, 102], batchSize: 1, length: 6)
        let logits = Tensor.withoutGradient { model(batch) }
        try export("minilm_dora_classifier", peft, reference: [
            "input_ids": Tensor(batch.ids.map(Float.init), shape: [1, 6]), "logits": logits,
        ])
    }
}
