import Foundation
import Testing
import Formats
import NN
import TensorCore
import TestSupport
@testable import Models

@Suite struct BertTrainingTests {
    static let tinyConfiguration = BertConfiguration(vocabularySize: 20, hiddenSize: 8, hiddenLayerCount: 2,
                                                     attentionHeadCount: 2, intermediateSize: 12, maximumPositionCount: 16)

    func tinyModel() -> BertForSequenceClassification {
        seedDefaultGenerator(3)
        var generator = RandomGenerator(seed: 4)
        let model = BertForSequenceClassification(configuration: Self.tinyConfiguration, labelCount: 3, generator: &generator)
        model.setTraining(false)   // no dropout: the loss must be a deterministic function of the weights
        return model
    }

    let batch = TokenBatch(ids: [2, 5, 7, 3, 2, 9, 3, 0], typeIds: [0, 0, 0, 0, 0, 1, 1, 0],
                           attentionMask: [1, 1, 1, 1, 1, 1, 1, 0], batchSize: 2, length: 4)

    /// Every parameter's gradient against central finite differences (a few elements each).
    @Test func everyParameterGradientMatchesFiniteDifferences() {
        let model = tinyModel()
        let targets = [2, 0]
        func loss() -> Tensor { crossEntropy(logits: model(batch), targets: targets) }
        loss().backward()
        var generator = RandomGenerator(seed: 11)
        for (path, parameter) in model.namedParameters() {
            let analytic = parameter.grad!.toArray()
            let storage = parameter.storage.floats + parameter.offset
            for _ in 0..<3 {
                let element = Int(generator.next() % UInt64(parameter.count))
                let original = storage[element]
                let step: Float = 1e-2
                storage[element] = original + step
                let upper = Double(Tensor.withoutGradient { loss() }.item)
                storage[element] = original - step
                let lower = Double(Tensor.withoutGradient { loss() }.item)
                storage[element] = original
                let numeric = (upper - lower) / (2 * Double(step))
                let error = abs(Double(analytic[element]) - numeric) / max(1, abs(numeric))
                #expect(error < 2e-3, "\(path)[\(element)]: analytic \(analytic[element]) vs numeric \(numeric)")
            }
        }
    }

    /// Full fine-tuning of all-MiniLM-L6-v2 drives a small batch's loss to near zero.
    @Test func fullFineTuningOfMiniLMFitsASmallBatch() throws {
        guard let folder = try assetURL("all-MiniLM-L6-v2") else { return }
        var generator = RandomGenerator(seed: 0)
        let configuration = try BertConfiguration.load(from: folder)
        let model = BertForSequenceClassification(configuration: configuration, labelCount: 2, generator: &generator)
        try model.bert.loadWeights(from: folder)
        let tokenizer = try WordPieceTokenizer(folder: folder)
        let texts = ["a gripping, beautifully acted film", "dull and lifeless", "a joy to watch", "an utter waste of time"]
        let targets = [1, 0, 1, 0]
        let encoded = tokenizer.encodeBatch(texts, maxLength: 16, padding: .longest)
        let batch = TokenBatch(encoded)
        let optimizer = AdamW(learningRate: 2e-4, weightDecay: 0.01)
        func loss() -> Tensor { crossEntropy(logits: model(batch), targets: targets) }
        model.setTraining(false)
        let initialLoss = Tensor.withoutGradient { loss() }.item
        model.setTraining(true)
        for _ in 0..<15 {
            loss().backward()
            optimizer.step(model)
            model.zeroGradients()
        }
        model.setTraining(false)
        let finalLoss = Tensor.withoutGradient { loss() }.item
        #expect(initialLoss > 0.5, "loss before training: \(initialLoss)")
        #expect(finalLoss < 0.05, "loss after 15 AdamW steps: \(finalLoss)")
    }
}
