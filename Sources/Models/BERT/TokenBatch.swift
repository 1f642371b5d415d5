import Formats

/// A padded batch of token ids with its attention mask, row-major [B, T].
public struct TokenBatch: Sendable, Equatable {
    public var ids: [Int]            // [B, T]
    public var typeIds: [Int]        // [B, T]
    public var attentionMask: [Int]  // [B, T], 1 for real tokens, 0 for padding
    public let batchSize: Int
    public let length: Int

    public init(ids: [Int], typeIds: [Int]? = nil, attentionMask: [Int]? = nil, batchSize: Int, length: Int) {
        precondition(ids.count == batchSize * length, "TokenBatch: \(ids.count) ids do not fill [\(batchSize), \(length)]")
        self.ids = ids
        self.typeIds = typeIds ?? [Int](repeating: 0, count: ids.count)
        self.attentionMask = attentionMask ?? [Int](repeating: 1, count: ids.count)
        precondition(self.typeIds.count == ids.count && self.attentionMask.count == ids.count,
                     "TokenBatch: type ids and attention mask must have \(ids.count) entries")
        self.batchSize = batchSize
        self.length = length
    }
}

extension TokenBatch {
    /// The batch a tokenizer produced.
    public init(_ encoding: BatchEncoding) {
        self.init(ids: encoding.ids, typeIds: encoding.tokenTypeIds, attentionMask: encoding.attentionMask,
                  batchSize: encoding.batchSize, length: encoding.sequenceLength)
    }
}
