import Formats
import NN
import TensorCore

// Shapes: B batch, T tokens, C hidden, H heads, D = C / H head size, I intermediate.

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
        let output = Module()
        output.register("dense", Linear(inputDimensions: c, outputDimensions: c))
        output.register("LayerNorm", LayerNorm(dimensions: c, epsilon: Float(configuration.layerNormEpsilon)))
        output.register("dropout", Dropout(probability: Float(configuration.hiddenDropoutProbability)))
        register("output", output)
    }

    /// x: [B, T, C], mask: [B, 1, 1, T] additive -> [B, T, C]
    func callAsFunction(_ x: Tensor, mask: Tensor) -> Tensor {
        let (b, t, c) = (x.shape[0], x.shape[1], x.shape[2])
        let projections = child("self")!
        func heads(_ name: String) -> Tensor {   // [B, H, T, D]
            projections.layer(name)(x).reshaped([b, t, headCount, c / headCount]).permuted([0, 2, 1, 3])
        }
        let context = scaledDotProductAttention(query: heads("query"), key: heads("key"), value: heads("value"), mask: mask)
        let merged = context.permuted([0, 2, 1, 3]).reshaped([b, t, c])   // [B, T, C]
        let output = child("output")!
        return output.layer("LayerNorm")(output.layer("dropout")(output.layer("dense")(merged)) + x)
    }
}

/// One encoder layer: attention, then the feed-forward block `intermediate.dense` (+ activation)
/// and `output.{dense,LayerNorm}`.
final class BertLayer: Module {
    let activation: Activation.Kind

    init(_ configuration: BertConfiguration) {
        activation = Activation.Kind(huggingFaceName: configuration.hiddenActivation) ?? .gelu
        super.init()
        let (c, i) = (configuration.hiddenSize, configuration.intermediateSize)
        register("attention", BertAttention(configuration))
        let intermediate = Module()
        intermediate.register("dense", Linear(inputDimensions: c, outputDimensions: i))
        register("intermediate", intermediate)
        let output = Module()
        output.register("dense", Linear(inputDimensions: i, outputDimensions: c))
        output.register("LayerNorm", LayerNorm(dimensions: c, epsilon: Float(configuration.layerNormEpsilon)))
        output.register("dropout", Dropout(probability: Float(configuration.hiddenDropoutProbability)))
        register("output", output)
    }

    /// x: [B, T, C], mask: [B, 1, 1, T] -> [B, T, C]
    func callAsFunction(_ x: Tensor, mask: Tensor) -> Tensor {
        let attended = child("attention", as: BertAttention.self)(x, mask: mask)
        let hidden = Activation.apply(activation, child("intermediate")!.layer("dense")(attended))   // [B, T, I]
        let output = child("output")!
        return output.layer("LayerNorm")(output.layer("dropout")(output.layer("dense")(hidden)) + attended)
    }
}
