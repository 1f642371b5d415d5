import Foundation
import Formats
import NN
import TensorCore

// Shapes: B batch, T tokens, C hidden, L labels.

/// BERT with a classification head on the pooled first token, as transformers'
/// `BertForSequenceClassification`: paths `bert.*`, `classifier.{weight,bias}`.
public final class BertForSequenceClassification: Module {
    public let labelCount: Int

    public init(configuration: BertConfiguration, labelCount: Int, generator: inout RandomGenerator) {
        self.labelCount = labelCount
        super.init()
        register("bert", BertModel(configuration: configuration))
        register("dropout", Dropout(probability: Float(configuration.classifierDropoutProbability ?? configuration.hiddenDropoutProbability)))
        let classifier = Linear(inputDimensions: configuration.hiddenSize, outputDimensions: labelCount, generator: &generator)
        // transformers initialises the new head with N(0, initializer_range) weights and zero bias.
        classifier.replaceTensor(at: "weight", with: Tensor.randomNormal(classifier.weight.shape, standardDeviation: Float(configuration.initializerRange), generator: &generator))
        classifier.replaceTensor(at: "bias", with: .zeros([labelCount]))
        register("classifier", classifier)
    }

    public var bert: BertModel { child("bert", as: BertModel.self) }

    /// -> logits [B, L]
    public func callAsFunction(_ batch: TokenBatch) -> Tensor {
        layer("classifier")(layer("dropout")(bert(batch).pooled!))
    }
}

/// BERT with a per-token classification head, as transformers' `BertForTokenClassification`.
public final class BertForTokenClassification: Module {
    public init(configuration: BertConfiguration, labelCount: Int, generator: inout RandomGenerator) {
        super.init()
        register("bert", BertModel(configuration: configuration, pooler: false))
        register("dropout", Dropout(probability: Float(configuration.classifierDropoutProbability ?? configuration.hiddenDropoutProbability)))
        register("classifier", Linear(inputDimensions: configuration.hiddenSize, outputDimensions: labelCount, generator: &generator))
    }

    public var bert: BertModel { child("bert", as: BertModel.self) }

    /// -> logits [B, T, L]
    public func callAsFunction(_ batch: TokenBatch) -> Tensor {
        layer("classifier")(layer("dropout")(bert(batch).lastHiddenState))
    }
}

/// Sentence embeddings as sentence-transformers computes them for all-MiniLM-L6-v2:
/// attention-masked mean pooling of the last hidden state, then L2 normalisation.
/// Virtual tokens of prompt tuning are left out of the mean.
public func sentenceEmbeddings(_ model: BertModel, _ batch: TokenBatch) -> Tensor {
    var hidden = model(batch).lastHiddenState   // [B, n + T, C]
    if hidden.shape[1] > batch.length { hidden = hidden.sliced(axis: 1, (hidden.shape[1] - batch.length)..<hidden.shape[1]) }
    let mask = Tensor(batch.attentionMask.map(Float.init), shape: [batch.batchSize, batch.length, 1])   // [B, T, 1]
    let summed = (hidden * mask).sum(axes: [1])   // [B, C]
    let counts = mask.sum(axes: [1]).clamped(min: 1e-9, max: .greatestFiniteMagnitude)   // [B, 1]
    let mean = summed / counts
    let norms = mean.squared().sum(axes: [1], keepingDimensions: true).sqrt().clamped(min: 1e-12, max: .greatestFiniteMagnitude)
    return mean / norms
}
