import Foundation
import Testing
import Formats
import NN
import TensorCore
import TestSupport
@testable import Models

/// A tiny random GPT-2 against transformers' GPT2LMHeadModel (scripts/fixtures/decoders.py).
@Suite struct GPT2Tests {
    func model() throws -> GPT2Model {
        let model = try GPT2Model.load(from: fixtureURL("gpt2-tiny"))
        model.setTraining(false)
        return model
    }

    @Test func logitsAndLossMatchTransformersOnAPaddedBatch() throws {
        let model = try model()
        let reference = DecoderReference.batch("gpt2-tiny")
        let logits = Tensor.withoutGradient { model(ids: reference.ids, batchSize: reference.batchSize, attentionMask: reference.mask) }
        let difference = DecoderReference.maskedDifference(logits, reference.logits, mask: reference.mask)
        #expect(difference < 1e-4, "max abs logit difference \(difference)")
        let labels = causalLanguageModelLabels(ids: reference.ids, batchSize: reference.batchSize, attentionMask: reference.mask)
        let loss = causalLanguageModelLoss(logits: logits, labels: labels).item
        #expect(abs(loss - reference.loss) < 1e-5, "loss \(loss) vs transformers \(reference.loss)")
    }

    @Test func parameterPathsFollowHuggingFace() throws {
        let paths = Set(try model().namedParameters().map(\.path))
        for path in ["transformer.wte.weight", "transformer.wpe.weight", "transformer.h.1.attn.c_attn.weight",
                     "transformer.h.0.mlp.c_proj.bias", "transformer.ln_f.weight"] {
            #expect(paths.contains(path), "\(path)")
        }
        #expect(!paths.contains("lm_head.weight"))
    }

    @Test func cachedDecodingMatchesTheFullSequence() throws {
        let model = try model()
        let ids = [5, 17, 3, 99, 42, 8, 61, 23]
        let full = Tensor.withoutGradient { model(ids: ids, batchSize: 1) }
        let stepwise = incrementalLogits(model, ids: ids, chunks: [3, 1, 1, 2, 1])
        #expect(maxAbsoluteDifference(stepwise, full) < 1e-5)
    }

    @Test func conv1DIsALinearLayerWithATransposedWeight() {
        var generator = RandomGenerator(seed: 2)
        let layer = Conv1D(inputDimensions: 3, outputDimensions: 2, generator: &generator)
        layer.replaceTensor(at: "weight", with: Tensor([1, 2, 3, 4, 5, 6], shape: [3, 2]))
        layer.replaceTensor(at: "bias", with: Tensor([0.5, -1], shape: [2]))
        let y = layer(Tensor([1, 0, -1], shape: [1, 3]))
        let expected: [Float] = [1 - 5 + 0.5, 2 - 6 - 1]   // x·W + b
        #expect(y.toArray() == expected)
    }

    @Test func lossGradientMatchesFiniteDifferences() {
        let configuration = GPT2Configuration(vocabularySize: 11, hiddenSize: 8, layerCount: 2, headCount: 2,
                                              maximumPositionCount: 8)
        let model = GPT2Model(configuration: configuration, seed: 3)
        model.setTraining(false)
        // transformers' init is too small for differences to show in float32: widen it.
        for (path, tensor) in model.namedParameters() {
            model.replaceTensor(at: path, with: tensor + Tensor.randomNormal(tensor.shape, standardDeviation: 0.3, seed: UInt64(path.count)))
        }
        let ids = [1, 4, 9, 2, 7, 3, 10, 5]
        let labels = causalLanguageModelLabels(ids: ids, batchSize: 2)
        let failures = finiteDifferenceFailures(model) {
            causalLanguageModelLoss(logits: model(ids: ids, batchSize: 2), labels: labels)
        }
        #expect(failures.isEmpty, "\(failures)")
    }
}
