import Foundation
import NN
import PEFT
import TensorCore
import Testing

@Suite(.serialized) struct IA3Tests {
    @Test func matchesPEFTOnMiniLM() throws {
        _ = try checkMethodFixture("minilm_ia3", gradients: true)
    }

    @Test func exportForPython() throws {
        var configuration = IA3Configuration()
        configuration.taskType = "SEQ_CLS"
        try exportMiniLMAdapter("minilm_ia3", configuration: configuration)
    }

    /// Feed-forward layers scale their input, others their output; merging folds l into W (and b).
    @Test func scalesInputOrOutputAndMerges() throws {
        let model = TinyMLP(seed: 2)
        let x = Tensor.randomNormal([3, 6], seed: 4)
        let fc1 = model.child("fc1", as: Linear.self), fc2 = model.child("fc2", as: Linear.self)
        let configuration = IA3Configuration(targetModules: .names(["fc1", "fc2"]), feedforwardModules: .names(["fc2"]), initializeToOnes: false)
        let peft = try PeftModel(model: model, configuration: configuration, seed: 5)
        let l1 = (model.child("fc1") as! IA3Layer).vector("default"), l2 = (model.child("fc2") as! IA3Layer).vector("default")
        #expect(l1.shape == [8, 1] && l2.shape == [1, 8])
        let hidden = (fc1(x) * l1.reshaped([8])).relu()
        let expected = model.child("classifier", as: Linear.self)((fc2(hidden * l2.reshaped([8]))).relu())
        let output = Tensor.withoutGradient { model(x) }
        #expect(maxAbsoluteDifferenceOf(output, expected) < 1e-6)
        #expect(try peft.adapterStateDict().keys.sorted() == ["base_model.model.fc1.ia3_l", "base_model.model.fc2.ia3_l"])
        try peft.merge()
        #expect(maxAbsoluteDifferenceOf(Tensor.withoutGradient { model(x) }, output) < 1e-5)
    }

    @Test func readsPEFTConfiguration() throws {
        let configuration = try IA3Configuration(json: [
            "peft_type": .string("IA3"), "target_modules": .array([.string("k"), .string("w0")]),
            "feedforward_modules": .array([.string("w0")]), "init_ia3_weights": .bool(false),
        ], file: "a.json")
        #expect(configuration.isFeedforward("block.0.w0") && !configuration.isFeedforward("block.0.k"))
        #expect(!configuration.initializeToOnes)
        #expect(throws: AdapterError.self) { try IA3Configuration(json: ["fan_in_fan_out": .bool(true)], file: "a.json") }
    }
}
