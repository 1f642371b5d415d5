import Formats
import NN
import TensorCore

// Shapes: B batch, T tokens, n virtual tokens, C hidden, H heads, D = C / H head size, I intermediate.

/// Multi-head self-attention with Hugging Face's paths `self.{query,key,value}` and
/// `output.{dense,LayerNorm}`.
final class BertAttention: Module {
    let headCount: Int

    init(_ configuration: BertConfiguration) {
        headCount = configuration.attentionHeadCount
        super.init()
        let c = configuration.hiddenSize
        let projections = Module()
        for name in ["query", "key", "value"] { projections.register(name, Linear(inputDimensions: c, outputDimensions: c)) }
        register("self", projections)
        register("output", BertResidualOutput(configuration, inputDimensions: c, kind: .attention))
    }

    /// x: [B, T, C], mask: [B, 1, 1, n + T] additive, prefix: keys and values [B, H, n, D] put
    /// before the layer's own (prefix tuning) -> [B, T, C]
    func callAsFunction(_ x: Tensor, mask: Tensor, prefix: (key: Tensor, value: Tensor)? = nil) -> Tensor {
        let (b, t, c) = (x.shape[0], x.shape[1], x.shape[2])
        let projections = child("self")!
        func heads(_ name: String) -> Tensor {   // [B, H, T, D]
            projections.layer(name)(x).reshaped([b, t, headCount, c / headCount]).permuted([0, 2, 1, 3])
        }
        var (key, value) = (heads("key"), heads("value"))
        if let prefix {
            precondition(prefix.key.shape == prefix.value.shape && prefix.key.rank == 4
                         && prefix.key.shape[0] == b && prefix.key.shape[1] == headCount && prefix.key.shape[3] == c / headCount,
                         "BertAttention: prefix keys \(prefix.key.shape) and values \(prefix.value.shape) must be [\(b), \(headCount), n, \(c / headCount)]")
            key = concatenate([prefix.key, key], axis: 2)   // [B, H, n + T, D]
            value = concatenate([prefix.value, value], axis: 2)
        }
        let context = scaledDotProductAttention(query: heads("query"), key: key, value: value, mask: mask)
        let merged = context.permuted([0, 2, 1, 3]).reshaped([b, t, c])   // [B, T, C]
        return child("output", as: BertResidualOutput.self)(merged, residual: x)
    }
}

/// `dense`, `dropout`, then the residual step `LayerNorm(h + residual)`, which bottleneck
/// adapters hook into (`ResidualBlock`). BERT's `attention.output` and `output`.
final class BertResidualOutput: Module, ResidualBlock {
    let residualKind: ResidualBlockKind
    let residualDimensions: Int

    init(_ configuration: BertConfiguration, inputDimensions: Int, kind: ResidualBlockKind) {
        residualKind = kind
        residualDimensions = configuration.hiddenSize
        super.init()
        let c = configuration.hiddenSize
        register("dense", Linear(inputDimensions: inputDimensions, outputDimensions: c))
        register("LayerNorm", LayerNorm(dimensions: c, epsilon: Float(configuration.layerNormEpsilon)))
        register("dropout", Dropout(probability: Float(configuration.hiddenDropoutProbability)))
    }

    /// hidden: [B, T, C_in], residual: [B, T, C] -> [B, T, C]
    func callAsFunction(_ hidden: Tensor, residual: Tensor) -> Tensor {
        closeResidual(layer("dropout")(layer("dense")(hidden)), residual: residual, norm: layer("LayerNorm"))
    }
}

/// One encoder layer: attention, then the feed-forward block `intermediate.dense` (+ activation)
/// and `output.{dense,LayerNorm}`.
final class BertLayer: Module {
    let activation: Activation.Kind

    init(_ configuration: BertConfiguration) {
        activation = Activation.Kind(huggingFaceName: configuration.hiddenActivation) ?? .gelu
        super.init()
        register("attention", BertAttention(configuration))
        let intermediate = Module()
        intermediate.register("dense", Linear(inputDimensions: configuration.hiddenSize, outputDimensions: configuration.intermediateSize))
        register("intermediate", intermediate)
        register("output", BertResidualOutput(configuration, inputDimensions: configuration.intermediateSize, kind: .feedForward))
    }

    /// x: [B, T, C], mask: [B, 1, 1, n + T], prefix: [B, H, n, D] keys and values -> [B, T, C]
    func callAsFunction(_ x: Tensor, mask: Tensor, prefix: (key: Tensor, value: Tensor)? = nil) -> Tensor {
        let attended = child("attention", as: BertAttention.self)(x, mask: mask, prefix: prefix)
        let hidden = Activation.apply(activation, child("intermediate")!.layer("dense")(attended))   // [B, T, I]
        return child("output", as: BertResidualOutput.self)(hidden, residual: attended)
    }
}
