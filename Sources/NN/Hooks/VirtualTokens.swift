import TensorCore

/// The shape of a model as prompt learning needs it (PEFT's `token_dim`, `num_layers`,
/// `num_attention_heads`). For prefix tuning `tokenDimensions / attentionHeadCount` is the head
/// size D of the keys and values.
public struct PromptGeometry: Equatable, Sendable {
    public var tokenDimensions: Int
    public var layerCount: Int
    public var attentionHeadCount: Int

    public init(tokenDimensions: Int, layerCount: Int, attentionHeadCount: Int) {
        self.tokenDimensions = tokenDimensions
        self.layerCount = layerCount
        self.attentionHeadCount = attentionHeadCount
    }
}

/// Learned virtual tokens for a model's forward pass: input embeddings prepended to the word
/// embeddings (prompt tuning) or key/value prefixes for every attention layer (prefix tuning).
/// Either way the model extends its attention mask with ones for the virtual tokens.
public protocol VirtualTokenSource: AnyObject {
    /// n, the number of virtual tokens (0 when nothing is active).
    var virtualTokenCount: Int { get }
    /// Embeddings to prepend to the word embeddings: [B, n, C], or nil.
    func promptEmbeddings(batchSize: Int) -> Tensor?
    /// Key and value prefixes for attention layer `layerIndex`: [B, H, n, D] each, or nil (H and
    /// D from the host's `prefixGeometry`: key/value heads under grouped-query attention).
    func attentionPrefix(layerIndex: Int, batchSize: Int) -> (key: Tensor, value: Tensor)?
}

/// A model that reads virtual tokens from its child `prompt_encoder` (a `VirtualTokenSource`).
///
/// ```swift
/// if let source = bert.virtualTokenSource { ... }   // prompt or prefix tuning attached
/// ```
public protocol VirtualTokenHost: Module {
    /// The geometry of prompt tuning's input embeddings (`tokenDimensions` is the hidden size).
    var promptGeometry: PromptGeometry { get }
    /// The geometry of prefix tuning's keys and values; `promptGeometry` unless the model's
    /// attention has fewer key/value heads than query heads. With grouped-query attention PEFT
    /// sizes the prefix for the K key/value heads (`token_dim` = D · K, `num_attention_heads` =
    /// K), and the model repeats the prefix for the query groups as it does its own keys.
    var prefixGeometry: PromptGeometry { get }
    /// The word embedding table [V, C] (prompt tuning starts from its rows for TEXT init).
    var wordEmbeddingTable: Tensor? { get }
}

extension VirtualTokenHost {
    public var prefixGeometry: PromptGeometry { promptGeometry }

    /// The attached source with at least one active virtual token, if any.
    public var virtualTokenSource: (any VirtualTokenSource)? {
        guard let source = child("prompt_encoder") as? any VirtualTokenSource, source.virtualTokenCount > 0 else { return nil }
        return source
    }
}
