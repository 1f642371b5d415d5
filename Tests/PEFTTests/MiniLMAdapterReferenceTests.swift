import Foundation
import Formats
import Models
import NN
import PEFT
import TensorCore
import Testing
import TestSupport

/// Python PEFT adapters on all-MiniLM-L6-v2 (scripts/fixtures/peft_lora.py): outputs within
/// 1e-4 and every adapter gradient within 1e-4 relative.
@Suite(.serialized) struct MiniLMAdapterReferenceTests {
    static func batch(_ fixture: PeftFixture) throws -> TokenBatch {
        let ids = try fixture.tensor("input_ids")
        func ints(_ name: String) throws -> [Int] { try fixture.tensor(name).toArray().map { Int($0) } }
        return TokenBatch(ids: try ints("input_ids"), typeIds: try ints("token_type_ids"),
                          attentionMask: try ints("attention_mask"), batchSize: ids.shape[0], length: ids.shape[1])
    }

    static func checkGradients(_ peft: PeftModel, _ fixture: PeftFixture) throws {
        let adapterTensors = try peft.adapterStateDict()
        let expected = try fixture.gradients()
        #expect(Set(adapterTensors.keys) == Set(expected.keys))
        var worst: Float = 0
        for (key, gradient) in expected {
            guard let actual = adapterTensors[key]?.grad else { Issue.record("\(fixture.name): no gradient for \(key)"); continue }
            worst = max(worst, relativeError(actual, gradient))
            #expect(relativeError(actual, gradient) < 1e-4, "\(fixture.name) gradient of \(key): \(relativeError(actual, gradient))")
        }
        print("\(fixture.name): \(expected.count) gradients, worst relative error \(worst)")
    }

    @Test(arguments: ["minilm_rslora", "minilm_dora", "minilm_rank_pattern", "minilm_all_linear"])
    func encoderAdaptersMatchPEFT(name: String) throws {
        guard let folder = try assetURL("all-MiniLM-L6-v2") else { return }
        let fixture = try PeftFixture(name)
        let model = try BertModel.load(from: folder)
        let peft = try PeftModel.load(from: fixture.folder, into: model, isTrainable: true)
        model.setTraining(false)
        let batch = try Self.batch(fixture)
        let output = model(batch)
        let hidden = output.lastHiddenState, pooled = output.pooled!
        let hiddenWeights = try fixture.tensor("hidden_weights")
        // Padded positions have zero weight; compare outputs on real tokens through the mask.
        let mask = Tensor(batch.attentionMask.map(Float.init), shape: [batch.batchSize, batch.length, 1])
        #expect(maxAbsoluteDifferenceOf(hidden * mask, try fixture.tensor("last_hidden_state") * mask) < 1e-4)
        #expect(maxAbsoluteDifferenceOf(pooled, try fixture.tensor("pooler_output")) < 1e-4)
        ((hidden * hiddenWeights).sum() + (pooled * (try fixture.tensor("pooled_weights"))).sum()).backward()
        try Self.checkGradients(peft, fixture)
    }

    @Test func classifierWithModulesToSaveMatchesPEFT() throws {
        guard let folder = try assetURL("all-MiniLM-L6-v2") else { return }
        let fixture = try PeftFixture("minilm_qv_classifier")
        var generator = RandomGenerator(seed: 3)
        let model = BertForSequenceClassification(configuration: try BertConfiguration.load(from: folder),
                                                  labelCount: 2, generator: &generator)
        try model.bert.loadWeights(from: folder)
        let peft = try PeftModel.load(from: fixture.folder, into: model, isTrainable: true)
        model.setTraining(false)
        let logits = model(try Self.batch(fixture))
        #expect(maxAbsoluteDifferenceOf(logits, try fixture.tensor("logits")) < 1e-4)
        (logits * (try fixture.tensor("logits_weights"))).sum().backward()
        try Self.checkGradients(peft, fixture)
    }

    /// PEFT prints "trainable params: 74,498 || all params: 22,788,484 || trainable%: 0.3269"
    /// for LoRA r=8 on query and value with a 2-label classifier in modules_to_save.
    @Test func trainableParameterReportMatchesPEFT() throws {
        guard let folder = try assetURL("all-MiniLM-L6-v2") else { return }
        var generator = RandomGenerator(seed: 3)
        let model = BertForSequenceClassification(configuration: try BertConfiguration.load(from: folder),
                                                  labelCount: 2, generator: &generator)
        var configuration = LoRAConfiguration(rank: 8, alpha: 16, targetModules: .names(["query", "value"]))
        configuration.modulesToSave = ["classifier"]
        let peft = try PeftModel(model: model, configuration: configuration)
        let report = peft.trainableParameterReport()
        #expect(report.trainable == 74_498)
        #expect(report.total == 22_788_484)
        #expect(report.description == "trainable params: 74,498 || all params: 22,788,484 || trainable%: 0.3269")
    }
}
