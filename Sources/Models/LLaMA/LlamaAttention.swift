import NN
import TensorCore

// Shapes: B batch, T new tokens, P past tokens, n prefix tokens, C hidden, H query heads, K key/value heads,
// G = H / K queries per key/value head, D head dimension.

/// LLaMA self-attention with rotary positions and grouped-query attention, with Hugging
/// Face's paths `q_proj`, `k_proj`, `v_proj`, `o_proj`.
final class LlamaAttention: Module {
    let headCount: Int
    let keyValueHeadCount: Int
    let headDimension: Int
    let ropeTheta: Float

    init(_ configuration: LlamaConfiguration, generator: inout RandomGenerator) {
        headCount = configuration.attentionHeadCount
        keyValueHeadCount = configuration.keyValueHeadCount
        headDimension = configuration.headDimension
        ropeTheta = Float(configuration.ropeTheta)
        precondition(headCount % keyValueHeadCount == 0,
                     "LlamaAttention: \(headCount) heads do not group into \(keyValueHeadCount) key/value heads")
        super.init()
        let (c, bias) = (configuration.hiddenSize, configuration.attentionBias)
        register("q_proj", Linear(inputDimensions: c, outputDimensions: headCount * headDimension, bias: bias, generator: &generator))
        register("k_proj", Linear(inputDimensions: c, outputDimensions: keyValueHeadCount * headDimension, bias: bias, generator: &generator))
        register("v_proj", Linear(inputDimensions: c, outputDimensions: keyValueHeadCount * headDimension, bias: bias, generator: &generator))
        register("o_proj", Linear(inputDimensions: headCount * headDimension, outputDimensions: c, bias: bias, generator: &generator))
    }

    /// x: [B, T, C] at `positions`, mask: [B, 1, 1, P + n + T] additive, prefix: prefix tuning's
    /// keys and values [B, K, n, D] (not rotated: they are past keys) -> [B, T, C]
    func callAsFunction(_ x: Tensor, positions: [Int], mask: Tensor?, prefix: (key: Tensor, value: Tensor)?,
                        cache: KeyValueCache?, layerIndex: Int) -> Tensor {
        let (b, t) = (x.shape[0], x.shape[1])
        func heads(_ name: String, _ count: Int) -> Tensor {   // [B, count, T, D]
            layer(name)(x).reshaped([b, t, count, headDimension]).permuted([0, 2, 1, 3])
        }
        let query = applyRotaryEmbedding(heads("q_proj", headCount), positions: positions, base: ropeTheta)
        let rotatedKey = applyRotaryEmbedding(heads("k_proj", keyValueHeadCount), positions: positions, base: ropeTheta)
        var (key, value) = prependingPrefix(prefix, key: rotatedKey, value: heads("v_proj", keyValueHeadCount))   // [B, K, n + T, D]
        if let cache { (key, value) = cache.append(layer: layerIndex, keys: key, values: value) }
        let context = scaledDotProductAttention(query: query, key: repeatedHeads(key, groups: headCount / keyValueHeadCount),
                                                value: repeatedHeads(value, groups: headCount / keyValueHeadCount),
                                                mask: mask, isCausal: true)   // [B, H, T, D]
        return layer("o_proj")(context.permuted([0, 2, 1, 3]).reshaped([b, t, headCount * headDimension]))
    }
}

/// Each key/value head repeated for the `groups` query heads that share it, as transformers'
/// `repeat_kv`: [B, K, T, D] -> [B, K·G, T, D] (head h reads key/value head h / G). The
/// gradient sums over each group.
func repeatedHeads(_ x: Tensor /* [B, K, T, D] */, groups: Int) -> Tensor /* [B, K·G, T, D] */ {
    guard groups > 1 else { return x }
    let (b, k, t, d) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    return x.unsqueezed(2).expanded(to: [b, k, groups, t, d]).reshaped([b, k * groups, t, d])
}
