import Formats
import Models
import TensorCore

/// A tokenised example: its ids with special tokens, already truncated, and its label id.
public struct EncodedExample: Sendable, Equatable {
    public var ids: [Int]
    public var label: Int

    public init(ids: [Int], label: Int) {
        self.ids = ids
        self.label = label
    }

    /// Tokenises texts with truncation to `maxLength` tokens (special tokens included).
    public static func encode(_ data: TextClassificationData, tokenizer: WordPieceTokenizer,
                              maxLength: Int) -> [EncodedExample] {
        var result: [EncodedExample] = []
        result.reserveCapacity(data.examples.count)
        for start in stride(from: 0, to: data.examples.count, by: 1024) {
            let chunk = data.examples[start..<min(start + 1024, data.examples.count)]
            let batch = tokenizer.encodeBatch(chunk.map(\.text), maxLength: maxLength, padding: .longest)
            for (row, example) in chunk.enumerated() {
                let (ids, _, mask) = batch.row(row)
                result.append(EncodedExample(ids: zip(ids, mask).filter { $0.1 == 1 }.map(\.0), label: example.label))
            }
        }
        return result
    }
}

/// A padded batch with its labels.
public struct LabeledBatch: Sendable {
    public var tokens: TokenBatch
    public var labels: [Int]
    /// Real (unpadded) tokens in the batch.
    public var tokenCount: Int

    /// Pads `examples` to their longest (dynamic padding) with `paddingID`.
    public init(_ examples: [EncodedExample], paddingID: Int) {
        let length = examples.map(\.ids.count).max() ?? 0
        var ids = [Int](repeating: paddingID, count: examples.count * length)
        var mask = [Int](repeating: 0, count: examples.count * length)
        for (row, example) in examples.enumerated() {
            for (column, id) in example.ids.enumerated() {
                ids[row * length + column] = id
                mask[row * length + column] = 1
            }
        }
        tokens = TokenBatch(ids: ids, attentionMask: mask, batchSize: examples.count, length: length)
        labels = examples.map(\.label)
        tokenCount = examples.reduce(0) { $0 + $1.ids.count }
    }
}

/// Cuts examples into batches, in a seeded shuffled order per epoch, and knows where it is, so
/// that a checkpoint can record the position and a resumed run sees the same batches.
///
/// ```swift
/// var batcher = Batcher(examples: encoded, batchSize: 32, paddingID: 0, seed: 42)
/// while let batch = batcher.next() { ... }   // one epoch
/// batcher.startNextEpoch()
/// ```
public struct Batcher: Sendable {
    /// Where the batcher stands: the epoch, the next batch in it, and the shuffling generator
    /// as it was before this epoch's order was drawn.
    public struct Position: Codable, Sendable, Equatable {
        public var epoch: Int
        public var batchIndex: Int
        public var shuffleGenerator: RandomGenerator
    }

    public let examples: [EncodedExample]
    public let batchSize: Int
    public let paddingID: Int
    public let shuffles: Bool
    public private(set) var position: Position
    private var order: [Int]

    public init(examples: [EncodedExample], batchSize: Int, paddingID: Int, seed: UInt64, shuffles: Bool = true) {
        precondition(batchSize > 0, "Batcher: batch size \(batchSize) must be positive")
        self.examples = examples
        self.batchSize = batchSize
        self.paddingID = paddingID
        self.shuffles = shuffles
        position = Position(epoch: 0, batchIndex: 0, shuffleGenerator: RandomGenerator(seed: seed))
        order = []
        order = drawOrder()
    }

    public var batchesPerEpoch: Int { (examples.count + batchSize - 1) / batchSize }

    /// Moves to a recorded position (from a checkpoint).
    public mutating func restore(_ position: Position) {
        self.position = position
        order = drawOrder()
    }

    /// The next batch of this epoch, or nil when the epoch is done.
    public mutating func next() -> LabeledBatch? {
        let start = position.batchIndex * batchSize
        guard start < examples.count else { return nil }
        position.batchIndex += 1
        return LabeledBatch(order[start..<min(start + batchSize, examples.count)].map { examples[$0] }, paddingID: paddingID)
    }

    /// Starts the following epoch with a fresh order.
    public mutating func startNextEpoch() {
        var generator = position.shuffleGenerator
        _ = permutation(using: &generator)
        position = Position(epoch: position.epoch + 1, batchIndex: 0, shuffleGenerator: generator)
        order = drawOrder()
    }

    private func drawOrder() -> [Int] {
        var generator = position.shuffleGenerator
        return permutation(using: &generator)
    }

    /// Fisher-Yates with our own generator and bounded draws, stable across Swift versions.
    private func permutation(using generator: inout RandomGenerator) -> [Int] {
        var indices = Array(examples.indices)
        guard shuffles else { return indices }
        for index in stride(from: indices.count - 1, to: 0, by: -1) {
            let other = Int(generator.next() % UInt64(index + 1))
            indices.swapAt(index, other)
        }
        return indices
    }
}
