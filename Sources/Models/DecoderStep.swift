import NN
import TensorCore

// Shapes: B batch, T new (real) tokens, n virtual tokens, P tokens already in the cache,
// C hidden, K key/value heads, D head size.

/// What one decoder call feeds its layers, with prompt or prefix tuning (PEFT's
/// `PeftModelForCausalLM`) folded in.
///
/// Virtual tokens enter once: on every call without a cache (training), or on the first call
/// of an empty cache (generation), which then keeps them. Prompt tuning puts its n embeddings
/// before the words, so the layers see n + T tokens at positions 0..<n + T; prefix tuning
/// gives each layer n keys and values before its own, and the real tokens sit at positions
/// n..<n + T, as transformers numbers tokens after a cache of n. Either way the caller's
/// attention mask covers real tokens only and the virtual tokens are always visible.
struct DecoderStep {
    let batchSize: Int
    /// T, the real tokens of this call.
    let tokens: Int
    /// Positions of the tokens the layers see: n + T of them when a prompt enters.
    let positions: [Int]
    /// Additive key mask [B, 1, 1, P + n + T] (n only when virtual tokens enter now), or nil.
    let mask: Tensor?
    /// Prompt tuning's embeddings entering now: [B, n, C].
    private let prompt: Tensor?
    /// Prefix tuning's source, when its keys and values enter now.
    private let prefixSource: (any VirtualTokenSource)?

    /// Checks ids [B, T] and `attentionMask` [B, P_real + T] (1 real, 0 padding; P_real = the
    /// cache's real tokens), and records in an empty `cache` how many virtual tokens it gets.
    init(host: some VirtualTokenHost, ids: [Int], batchSize: Int, attentionMask: [Int]?, cache: KeyValueCache?) {
        precondition(batchSize > 0 && !ids.isEmpty && ids.count % batchSize == 0,
                     "decoder: \(ids.count) ids do not split into \(batchSize) rows")
        self.batchSize = batchSize
        tokens = ids.count / batchSize
        let past = cache?.length ?? 0
        let source = past == 0 ? host.virtualTokenSource : nil
        let entering = source?.virtualTokenCount ?? 0
        prompt = source?.promptEmbeddings(batchSize: batchSize)
        prefixSource = prompt == nil ? source : nil
        if let cache, past == 0 { cache.virtualTokenCount = entering }
        let start = past + (prefixSource == nil ? 0 : entering)
        positions = Array(start..<(past + entering + tokens))
        guard let attentionMask else { mask = nil; return }
        let virtual = cache?.virtualTokenCount ?? entering
        let covered = past + entering + tokens - virtual
        precondition(attentionMask.count == batchSize * covered,
                     "decoder: attention mask has \(attentionMask.count) entries, expected [B, real past + T] = [\(batchSize), \(covered)]")
        var bias = [Float](repeating: 0, count: batchSize * (virtual + covered))
        for row in 0..<batchSize {
            for column in 0..<covered where attentionMask[row * covered + column] == 0 {
                bias[row * (virtual + covered) + virtual + column] = -.infinity
            }
        }
        mask = Tensor(bias, shape: [batchSize, 1, 1, virtual + covered])
    }

    /// words: [B, T, C] -> [B, n + T, C] with prompt tuning's embeddings in front when they enter.
    func prependingPrompt(to words: Tensor) -> Tensor {
        guard let prompt else { return words }
        precondition(prompt.rank == 3 && prompt.shape[0] == words.shape[0] && prompt.shape[2] == words.shape[2],
                     "decoder: prompt \(prompt.shape) does not fit word embeddings \(words.shape)")
        return concatenate([prompt, words], axis: 1)
    }

    /// Prefix tuning's keys and values [B, K, n, D] for layer `layerIndex`, when they enter now.
    func prefix(layerIndex: Int) -> (key: Tensor, value: Tensor)? {
        prefixSource?.attentionPrefix(layerIndex: layerIndex, batchSize: batchSize)
    }

    /// hidden: [B, n + T, C] -> [B, T, C], the real tokens (callers never see virtual positions).
    func realTokens(_ hidden: Tensor) -> Tensor {
        guard let prompt else { return hidden }
        let n = prompt.shape[1]
        return hidden.sliced(axis: 1, n..<(n + tokens))
    }
}

/// Keys and values [B, K, T, D] with prefix tuning's [B, K, n, D] in front (differentiable), as
/// an attention layer reads them before appending to a cache.
func prependingPrefix(_ prefix: (key: Tensor, value: Tensor)?, key: Tensor, value: Tensor) -> (key: Tensor, value: Tensor) {
    guard let prefix else { return (key, value) }
    precondition(prefix.key.rank == 4 && prefix.key.shape == prefix.value.shape && prefix.key.shape[0] == key.shape[0]
                 && prefix.key.shape[1] == key.shape[1] && prefix.key.shape[3] == key.shape[3] && value.shape[3] == key.shape[3],
                 "decoder: prefix keys \(prefix.key.shape) and values \(prefix.value.shape) must be [B, K, n, D] for keys \(key.shape)")
    return (concatenate([prefix.key, key], axis: 2), concatenate([prefix.value, value], axis: 2))
}
