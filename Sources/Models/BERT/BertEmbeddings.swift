import Formats
import NN
import TensorCore

/// Word + position + token-type embeddings, then LayerNorm and dropout.
/// Paths: `word_embeddings`, `position_embeddings`, `token_type_embeddings`, `LayerNorm`.
final class BertEmbeddings: Module {
    init(_ configuration: BertConfiguration) {
        super.init()
        register("word_embeddings", Embedding(count: configuration.vocabularySize, dimensions: configuration.hiddenSize))
        register("position_embeddings", Embedding(count: configuration.maximumPositionCount, dimensions: configuration.hiddenSize))
        register("token_type_embeddings", Embedding(count: configuration.typeVocabularySize, dimensions: configuration.hiddenSize))
        register("LayerNorm", LayerNorm(dimensions: configuration.hiddenSize, epsilon: Float(configuration.layerNormEpsilon)))
        register("dropout", Dropout(probability: Float(configuration.hiddenDropoutProbability)))
    }

    /// -> [B, T, C]
    func callAsFunction(_ batch: TokenBatch) -> Tensor {
        let shape = [batch.batchSize, batch.length]
        let words = child("word_embeddings", as: Embedding.self)(batch.ids, shape: shape)   // [B, T, C]
        let positions = child("position_embeddings", as: Embedding.self)(Array(0..<batch.length), shape: [1, batch.length])  // [1, T, C]
        let types = child("token_type_embeddings", as: Embedding.self)(batch.typeIds, shape: shape)   // [B, T, C]
        return layer("dropout")(layer("LayerNorm")(words + positions + types))
    }
}
