import Foundation
import Formats
import Models
import NN
import PEFT
import TensorCore
import Testing
import TestSupport

@Suite struct BottleneckTests {
    /// AdapterHub's placement, written out: Houlsby LN(h + A(h) + x), Pfeiffer LN(h + A(LN(h + x)) + x).
    @Test(arguments: [BottleneckArchitecture.houlsby, .pfeiffer])
    func placementFollowsAdapterHub(architecture: BottleneckArchitecture) throws {
        let model = MethodMatrixTests.makeClassifier()
        let peft = try PeftModel(model: model, configuration: BottleneckConfiguration(architecture: architecture, reductionFactor: 2))
        let blocks = peft.attachedAdapters.map(\.path)
        #expect(blocks.count == (architecture == .houlsby ? 4 : 2))
        #expect(blocks.contains("bert.encoder.layer.0.output.adapters"))
        #expect(blocks.contains("bert.encoder.layer.0.attention.output.adapters") == (architecture == .houlsby))

        let block = model.module(at: "bert.encoder.layer.1.output")!
        let hook = block.child("adapters") as! BottleneckAdapters
        var generator = RandomGenerator(seed: 3)
        for (path, tensor) in hook.namedParameters() {
            hook.replaceTensor(at: path, with: .randomNormal(tensor.shape, generator: &generator))
        }
        let h = Tensor.randomNormal([2, 3, 8], seed: 4), x = Tensor.randomNormal([2, 3, 8], seed: 5)
        let norm = block.layer("LayerNorm")
        let adapter = hook.child("default")!
        let down = adapter.layer("adapter_down"), up = adapter.layer("adapter_up")
        let expected = architecture == .houlsby
            ? norm(h + up(down(h)) + x)
            : norm(h + up(down(norm(h + x))) + x)
        #expect(maxAbsoluteDifferenceOf(hook.closeResidual(h, residual: x, norm: norm), expected) < 1e-6)
        let activation = (adapter.module(at: "adapter_down.1") as! Activation).kind
        #expect(activation == (architecture == .houlsby ? .silu : .relu))
    }

    /// On MiniLM: the output at the start is the base model's, the adapter sizes follow the
    /// reduction factor, and only the adapters (and the classifier copy) train.
    @Test func miniLMStartsAsTheBaseModel() throws {
        guard let folder = try assetURL("all-MiniLM-L6-v2") else { return }
        var generator = RandomGenerator(seed: 3)
        let model = BertForSequenceClassification(configuration: try BertConfiguration.load(from: folder), labelCount: 2, generator: &generator)
        try model.bert.loadWeights(from: folder)
        model.setTraining(false)
        let batch = TokenBatch(ids: [101, 7592, 2088, 2003, 2307, 102], batchSize: 1, length: 6)
        let base = Tensor.withoutGradient { model(batch) }
        var configuration = BottleneckConfiguration(architecture: .houlsby, reductionFactor: 16)
        configuration.modulesToSave = ["classifier"]
        let peft = try PeftModel(model: model, configuration: configuration)
        #expect(maxAbsoluteDifferenceOf(Tensor.withoutGradient { model(batch) }, base) == 0)
        // 12 adapters of 384 -> 24 -> 384 with biases, plus the 2-label classifier copy.
        let report = peft.trainableParameterReport()
        #expect(report.trainable == 12 * (384 * 24 + 24 + 24 * 384 + 384) + 770)
        #expect(model.trainableParameters().allSatisfy { $0.path.contains(".adapters.default.") || $0.path.contains("modules_to_save") })
        let keys = try peft.adapterStateDict().keys
        #expect(keys.contains("base_model.model.bert.encoder.layer.0.attention.output.adapters.adapter_down.0.weight"))
        #expect(keys.contains("base_model.model.bert.encoder.layer.5.output.adapters.adapter_up.bias"))
    }

    @Test func configurationRoundTripsAndRefusesUnknownOptions() throws {
        let configuration = BottleneckConfiguration(architecture: .pfeiffer, reductionFactor: 8)
        let decoded = try BottleneckConfiguration(json: configuration.json, file: "a.json")
        #expect(decoded.architecture == .pfeiffer && decoded.reductionFactor == 8 && decoded.nonLinearity == .relu)
        #expect(decoded.originalLayerNormBefore && !decoded.afterAttention && decoded.afterFeedForward)
        #expect(throws: AdapterError.self) { try BottleneckConfiguration(json: ["peft_type": .string("BOTTLENECK"), "ln_after": .bool(true)], file: "a.json") }
    }
}
