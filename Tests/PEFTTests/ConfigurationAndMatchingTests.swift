import Foundation
import NN
import PEFT
import TensorCore
import Testing

@Suite struct ConfigurationAndMatchingTests {
    @Test func targetMatchingFollowsPEFT() {
        let names = TargetSelector(targetModules: .names(["query", "self.value"]))
        #expect(names.matches("encoder.layer.0.attention.self.query"))
        #expect(names.matches("encoder.layer.0.attention.self.value"))
        #expect(!names.matches("encoder.layer.0.attention.self.query_proj"))
        let pattern = TargetSelector(targetModules: .pattern(".*layer\\.[01]\\..*query"))
        #expect(pattern.matches("encoder.layer.1.attention.self.query"))
        #expect(!pattern.matches("encoder.layer.2.attention.self.query"))
        #expect(!pattern.matches("encoder.layer.1.attention.self.query.extra"), "a pattern must match the whole path")
        let layers = TargetSelector(targetModules: .names(["query"]), layersToTransform: [1], layersPattern: ["layer"])
        #expect(layers.matches("encoder.layer.1.attention.self.query"))
        #expect(!layers.matches("encoder.layer.0.attention.self.query"))
        let excluded = TargetSelector(targetModules: .names(["query"]), excludeModules: .pattern(".*layer\\.0\\..*"))
        #expect(!excluded.matches("encoder.layer.0.attention.self.query"))
        let saved = TargetSelector(targetModules: .names(["classifier", "fc1"]), modulesToSave: ["classifier"])
        #expect(!saved.matches("classifier"), "modules_to_save are never adapted")
    }

    @Test func allLinearSkipsTheClassificationHead() {
        let model = TinyMLP()
        let selector = TargetSelector(targetModules: .allLinear)
        #expect(selector.targetPaths(in: model) == ["fc1", "fc2", "classifier"])
        #expect(selector.targetPaths(in: model, taskType: "SEQ_CLS") == ["fc1", "fc2"])
    }

    @Test func rankAndAlphaPatterns() {
        var configuration = LoRAConfiguration(rank: 4, alpha: 8)
        configuration.rankPattern = ["key": 2, "layer.0.attention.self.value": 6]
        configuration.alphaPattern = ["value": 12]
        #expect(configuration.rankAndAlpha(for: "encoder.layer.0.attention.self.value") == (6, 12))
        #expect(configuration.rankAndAlpha(for: "encoder.layer.1.attention.self.value") == (4, 12))
        #expect(configuration.rankAndAlpha(for: "encoder.layer.1.attention.self.key") == (2, 8))
        #expect(configuration.rankAndAlpha(for: "encoder.layer.1.attention.self.monkey") == (4, 8))
    }

    @Test func configurationRoundTripsUnknownFieldsAndReportsThem() throws {
        let text = #"{"peft_type": "LORA", "r": 8, "lora_alpha": 16, "lora_dropout": 0.0, "target_modules": ["query"],"#
            + #" "layers_pattern": "layer", "megatron_core": "megatron.core", "corda_config": null, "future_option": 3,"#
            + #" "init_lora_weights": "gaussian", "auto_mapping": {"base_model_class": "BertModel"}}"#
        let json = try JSONDecoder().decode([String: JSONValue].self, from: Data(text.utf8))
        let configuration = try LoRAConfiguration(json: json, file: "adapter_config.json")
        #expect(configuration.rank == 8 && configuration.alpha == 16 && configuration.initialization == .gaussian)
        #expect(configuration.layersPattern == ["layer"])
        #expect(configuration.ignoredFields == ["future_option"])
        let written = configuration.json
        for (key, value) in json { #expect(written[key] == value, "\(key) round-trips unchanged") }
    }

    @Test func badFieldsAndRefusedOptionsAreTypedErrors() throws {
        func decode(_ text: String) throws -> LoRAConfiguration {
            try LoRAConfiguration(json: try JSONDecoder().decode([String: JSONValue].self, from: Data(text.utf8)), file: "a.json")
        }
        #expect(throws: AdapterError.invalidField(file: "a.json", key: "r", expected: "a positive integer")) { try decode(#"{"r": "eight"}"#) }
        #expect(throws: AdapterError.unsupportedOption(key: "lora_bias", value: "bool(true)")) { try decode(#"{"lora_bias": true}"#) }
        #expect(throws: AdapterError.unsupportedMethod(file: "a.json", peftType: "IA3")) { try decode(#"{"peft_type": "IA3"}"#) }
    }

    @Test func adapterThatDoesNotFitNamesKeysAndShapes() throws {
        let model = TinyMLP()
        let peft = try PeftModel(model: model, configuration: LoRAConfiguration(rank: 2, targetModules: .names(["fc1"])))
        var tensors = try peft.adapterStateDict()
        tensors["base_model.model.fc9.lora_A.weight"] = .zeros([2, 6])
        tensors["base_model.model.fc1.lora_B.weight"] = nil
        #expect(throws: AdapterError.keysMismatch(file: "state dict", missing: ["base_model.model.fc1.lora_B.weight"],
                                                  unexpected: ["base_model.model.fc9.lora_A.weight"])) {
            try peft.loadAdapterStateDict(tensors)
        }
        var wrongShape = try peft.adapterStateDict()
        wrongShape["base_model.model.fc1.lora_A.weight"] = .zeros([3, 6])
        #expect(throws: AdapterError.shapeMismatch(module: "fc1", key: "base_model.model.fc1.lora_A.weight", expected: [2, 6], found: [3, 6])) {
            try peft.loadAdapterStateDict(wrongShape)
        }
        #expect(throws: AdapterError.self) { _ = try PeftModel(model: TinyMLP(), configuration: LoRAConfiguration(targetModules: .names(["nothing"]))) }
    }

    @Test func jacobiSingularValueDecompositionReconstructs() throws {
        // Checked through PiSSA with r = min(m, n): B·A·s equals W, so the residual vanishes.
        let model = TinyMLP(seed: 9)
        let weight = model.child("classifier", as: Linear.self).weight   // [3, 8]
        _ = try PeftModel(model: model, configuration: LoRAConfiguration(rank: 3, alpha: 3, targetModules: .names(["classifier"]), initialization: .pissa))
        let layer = model.child("classifier") as! LoRALinear
        #expect(maxAbsoluteDifferenceOf(layer.deltaWeight(adapter: "default"), weight) < 1e-5)
        #expect(layer.baseLayer.parameter("weight").toArray().allSatisfy { abs($0) < 1e-5 })
    }
}
