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

    /// -> [B, n + T, C]. `prompt` [B, n, C] (prompt tuning) is prepended to the word embeddings
    /// with token type 0, and positions count from `positionOffset` over the whole sequence, as
    /// transformers does for `inputs_embeds` (prompt tuning) and after a cache (prefix tuning).
    func callAsFunction(_ batch: TokenBatch, prompt: Tensor? = nil, positionOffset: Int = 0) -> Tensor {
        let shape = [batch.batchSize, batch.length]
        var words = tokenEmbedding("word_embeddings").callAsFunction(batch.ids, shape: shape)   // [B, T, C]
        var typeIds = batch.typeIds
        var length = batch.length
        if let prompt {
            precondition(prompt.rank == 3 && prompt.shape[0] == batch.batchSize && prompt.shape[2] == words.shape[2],
                         "BertEmbeddings: prompt \(prompt.shape) does not fit word embeddings \(words.shape)")
            let n = prompt.shape[1]
            words = concatenate([prompt, words], axis: 1)   // [B, n + T, C]
            typeIds = (0..<batch.batchSize).flatMap { row in [Int](repeating: 0, count: n) + batch.typeIds[row * length..<(row + 1) * length] }
            length += n
        }
        let positionIds = Array(positionOffset..<(positionOffset + length))
        let positions = tokenEmbedding("position_embeddings").callAsFunction(positionIds, shape: [1, length])   // [1, T, C]
        let types = tokenEmbedding("token_type_embeddings").callAsFunction(typeIds, shape: [batch.batchSize, length])   // [B, T, C]
        return layer("dropout")(layer("LayerNorm")(words + positions + types))
    }
}
