import TensorCore

/// A layer that maps token ids to vectors. Models call their token tables through this protocol,
/// so a method can replace a table (LoRA on `word_embeddings`) without the model knowing.
///
/// ```swift
/// let table = child("word_embeddings") as! any TokenEmbeddingLayer
/// let vectors = table(ids, shape: [B, T])   // -> [B, T, C]
/// ```
public protocol TokenEmbeddingLayer: Module {
    /// ids: `shape` elements in row-major order -> [shape..., C]
    func callAsFunction(_ ids: [Int], shape: [Int]) -> Tensor
}

extension Embedding: TokenEmbeddingLayer {}

extension Module {
    /// The child `name` as a token embedding layer.
    public func tokenEmbedding(_ name: String) -> any TokenEmbeddingLayer {
        guard let layer = child(name) as? any TokenEmbeddingLayer else {
            preconditionFailure("\(type(of: self)).\(name) is \(String(describing: child(name).map { type(of: $0) })), not a token embedding layer")
        }
        return layer
    }
}
