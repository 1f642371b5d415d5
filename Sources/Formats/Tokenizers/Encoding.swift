/// The tokens of one text (or one pair of texts), ready for a BERT model.
///
/// ```swift
/// let encoding = tokenizer.encode("Hello, world!")
/// encoding.tokens   // ["[CLS]", "hello", ",", "world", "!", "[SEP]"]
/// encoding.ids      // [101, 7592, 1010, 2088, 999, 102]
/// encoding.offsets  // [0..<0, 0..<5, 5..<6, 7..<12, 12..<13, 0..<0]
/// ```
public struct Encoding: Equatable, Sendable {
    /// Token ids. // [T]
    public var ids: [Int]
    /// 0 for the first sequence (and its special tokens), 1 for the second of a pair. // [T]
    public var tokenTypeIds: [Int]
    /// 1 for a real token, 0 for padding. // [T]
    public var attentionMask: [Int]
    /// The vocabulary entry of each id.
    public var tokens: [String]
    /// For each token, the Unicode-scalar range of its own text (the first or the second of a
    /// pair) it came from; empty `0..<0` for special and padding tokens.
    public var offsets: [Range<Int>]

    public init(ids: [Int], tokenTypeIds: [Int], attentionMask: [Int], tokens: [String], offsets: [Range<Int>]) {
        self.ids = ids
        self.tokenTypeIds = tokenTypeIds
        self.attentionMask = attentionMask
        self.tokens = tokens
        self.offsets = offsets
    }

    /// The number of tokens.
    public var count: Int { ids.count }

    /// Keeps the first `length` tokens.
    mutating func truncate(to length: Int) {
        guard length < count else { return }
        ids.removeLast(count - length)
        tokenTypeIds.removeLast(tokenTypeIds.count - length)
        attentionMask.removeLast(attentionMask.count - length)
        tokens.removeLast(tokens.count - length)
        offsets.removeLast(offsets.count - length)
    }

    /// Adds padding tokens up to `length`, after the tokens or (`atStart`) before them.
    mutating func pad(to length: Int, with padding: PaddingToken, atStart: Bool) {
        let extra = length - count
        guard extra > 0 else { return }
        let index = atStart ? 0 : count
        ids.insert(contentsOf: repeatElement(padding.id, count: extra), at: index)
        tokenTypeIds.insert(contentsOf: repeatElement(padding.typeID, count: extra), at: index)
        attentionMask.insert(contentsOf: repeatElement(0, count: extra), at: index)
        tokens.insert(contentsOf: repeatElement(padding.token, count: extra), at: index)
        offsets.insert(contentsOf: repeatElement(0..<0, count: extra), at: index)
    }
}

/// What `encodeBatch` pads to.
public enum PaddingStrategy: Equatable, Sendable {
    /// The longest encoding of the batch.
    case longest
    /// A fixed number of tokens; longer texts are truncated to it.
    case fixed(Int)
}

/// The padding token as tokenizer.json's `padding` (or the vocabulary's `[PAD]`) defines it.
struct PaddingToken: Equatable, Sendable {
    var id = 0
    var typeID = 0
    var token = "[PAD]"
}

/// A padded batch as flat row-major arrays of shape `[batchSize, sequenceLength]`.
///
/// ```swift
/// let batch = tokenizer.encodeBatch(["a short one", "and a longer second text"], maxLength: 128, padding: .longest)
/// batch.shape                                   // [2, 7]
/// batch.ids[1 * batch.sequenceLength + 0]       // 101, the [CLS] of the second text
/// ```
public struct BatchEncoding: Equatable, Sendable {
    /// Token ids. // [B, T]
    public var ids: [Int]
    /// Segment ids. // [B, T]
    public var tokenTypeIds: [Int]
    /// 1 for real tokens, 0 for padding. // [B, T]
    public var attentionMask: [Int]
    public var batchSize: Int
    public var sequenceLength: Int

    /// `[batchSize, sequenceLength]`.
    public var shape: [Int] { [batchSize, sequenceLength] }

    /// Stacks encodings that all have `sequenceLength` tokens.
    init(_ encodings: [Encoding], sequenceLength: Int) {
        precondition(encodings.allSatisfy { $0.count == sequenceLength }, "every encoding must have \(sequenceLength) tokens")
        ids = encodings.flatMap(\.ids)
        tokenTypeIds = encodings.flatMap(\.tokenTypeIds)
        attentionMask = encodings.flatMap(\.attentionMask)
        batchSize = encodings.count
        self.sequenceLength = sequenceLength
    }

    /// The encoding of row `index`, padding included.
    public func row(_ index: Int) -> (ids: ArraySlice<Int>, tokenTypeIds: ArraySlice<Int>, attentionMask: ArraySlice<Int>) {
        precondition(index >= 0 && index < batchSize, "row \(index) outside a batch of \(batchSize)")
        let range = index * sequenceLength..<(index + 1) * sequenceLength
        return (ids[range], tokenTypeIds[range], attentionMask[range])
    }
}
