import TensorCore

// Shapes: B batch, H key/value heads, T tokens, D head dimension.

/// The keys and values a decoder has already computed, one pair per layer, so each new token
/// attends to the past without recomputing it.
///
/// Each layer's keys and values live in a preallocated `[B, H, capacity, D]` buffer that
/// doubles when full; `append` writes the new tokens in place and returns a view of all
/// tokens so far, so a step costs O(new tokens), not O(length). The cache is for inference:
/// it holds values, not gradients, and must be filled inside `Tensor.withoutGradient`.
///
/// With prompt or prefix tuning attached, the model's first call on an empty cache puts the
/// n virtual tokens (the prompt's keys and values, or the prefix itself) in front, once; they
/// count in `length` (positions continue after them) but not in the caller's attention masks.
///
/// ```swift
/// let cache = KeyValueCache(layerCount: model.layerCount)
/// let promptLogits = Tensor.withoutGradient { model(ids: prompt, batchSize: 1, cache: cache) }
/// let nextLogits = Tensor.withoutGradient { model(ids: [next], batchSize: 1, cache: cache) }
/// ```
public final class KeyValueCache {
    private struct Entry {
        var keys: Tensor     // [B, H, capacity, D]
        var values: Tensor   // [B, H, capacity, Dv]
    }

    private var entries: [Entry?]
    /// Tokens stored per layer.
    private var lengths: [Int]

    public init(layerCount: Int) {
        entries = Array(repeating: nil, count: layerCount)
        lengths = Array(repeating: 0, count: layerCount)
    }

    public var layerCount: Int { entries.count }

    /// The number of tokens already stored (those of layer 0): the position of the next token.
    public var length: Int { lengths.first ?? 0 }

    /// How many of the stored tokens are virtual (prompt or prefix tuning's, always first).
    public internal(set) var virtualTokenCount = 0

    /// Forgets everything (for a new prompt).
    public func reset() {
        entries = Array(repeating: nil, count: entries.count)
        lengths = Array(repeating: 0, count: lengths.count)
        virtualTokenCount = 0
    }

    /// Appends the new tokens' keys and values of `layer` and returns the keys and values of
    /// every token so far (views of the cache buffers).
    public func append(layer: Int, keys: Tensor /* [B, H, T, D] */, values: Tensor /* [B, H, T, Dv] */)
        -> (keys: Tensor /* [B, H, past + T, D] */, values: Tensor /* [B, H, past + T, Dv] */) {
        precondition(!Tensor.isRecording || !(keys.requiresGradient || values.requiresGradient),
                     "KeyValueCache: fill the cache inside Tensor.withoutGradient (it keeps no gradients)")
        precondition(keys.rank == 4 && values.rank == 4 && keys.shape[0...2] == values.shape[0...2],
                     "KeyValueCache: keys \(keys.shape) and values \(values.shape) must be [B, H, T, D] alike")
        let past = lengths[layer], total = past + keys.shape[2]
        var entry = entries[layer] ?? Entry(keys: Self.buffer(like: keys, capacity: Swift.max(total, 16)),
                                            values: Self.buffer(like: values, capacity: Swift.max(total, 16)))
        precondition(entry.keys.shape[0] == keys.shape[0] && entry.keys.shape[1] == keys.shape[1]
                     && entry.keys.shape[3] == keys.shape[3],
                     "KeyValueCache: layer \(layer) holds keys \(entry.keys.shape), new keys are \(keys.shape)")
        if total > entry.keys.shape[2] {
            let capacity = Swift.max(total, 2 * entry.keys.shape[2])
            entry = Entry(keys: Self.grown(entry.keys, length: past, capacity: capacity),
                          values: Self.grown(entry.values, length: past, capacity: capacity))
        }
        Self.write(keys, into: entry.keys, at: past)
        Self.write(values, into: entry.values, at: past)
        entries[layer] = entry
        lengths[layer] = total
        return (entry.keys.sliced(axis: 2, 0..<total), entry.values.sliced(axis: 2, 0..<total))
    }

    private static func buffer(like tensor: Tensor, capacity: Int) -> Tensor {
        Tensor.zeros([tensor.shape[0], tensor.shape[1], capacity, tensor.shape[3]])
    }

    /// A larger buffer holding the first `length` tokens of `buffer`.
    private static func grown(_ buffer: Tensor, length: Int, capacity: Int) -> Tensor {
        let result = Tensor.zeros([buffer.shape[0], buffer.shape[1], capacity, buffer.shape[3]])
        write(buffer.sliced(axis: 2, 0..<length), into: result, at: 0)
        return result
    }

    /// Copies `source` [B, H, T, D] into tokens `start..<start+T` of a contiguous buffer.
    private static func write(_ source: Tensor, into buffer: Tensor, at start: Int) {
        let tokens = source.shape[2], d = source.shape[3], capacity = buffer.shape[2]
        guard tokens > 0 else { return }
        let x = source.contiguous()
        let from = x.storage.floats + x.offset, to = buffer.storage.floats
        for plane in 0..<(source.shape[0] * source.shape[1]) {
            (to + (plane * capacity + start) * d).update(from: from + plane * tokens * d, count: tokens * d)
        }
    }
}
