import Foundation
import NN
import TensorCore

// Shapes: B batch, T new tokens, P past tokens, C hidden, I intermediate, V vocabulary.

/// The gated feed-forward block: `down_proj(silu(gate_proj(x)) ⊙ up_proj(x))`.
final class LlamaMLP: Module, UnaryLayer {
    let activation: Activation.Kind

    init(_ configuration: LlamaConfiguration, generator: inout RandomGenerator) {
        activation = Activation.Kind(huggingFaceName: configuration.hiddenActivation) ?? .silu
        super.init()
        let (c, i, bias) = (configuration.hiddenSize, configuration.intermediateSize, configuration.mlpBias)
        register("gate_proj", Linear(inputDimensions: c, outputDimensions: i, bias: bias, generator: &generator))
        register("up_proj", Linear(inputDimensions: c, outputDimensions: i, bias: bias, generator: &generator))
        register("down_proj", Linear(inputDimensions: i, outputDimensions: c, bias: bias, generator: &generator))
    }

    /// x: [B, T, C] -> [B, T, C]
    func callAsFunction(_ x: Tensor) -> Tensor {
        layer("down_proj")(Activation.apply(activation, layer("gate_proj")(x)) * layer("up_proj")(x))
    }
}

/// One pre-norm decoder layer: `input_layernorm`, `self_attn`, `post_attention_layernorm`, `mlp`.
final class LlamaDecoderLayer: Module {
    init(_ configuration: LlamaConfiguration, generator: inout RandomGenerator) {
        super.init()
        let epsilon = Float(configuration.rmsNormEpsilon)
        register("self_attn", LlamaAttention(configuration, generator: &generator))
        register("mlp", LlamaMLP(configuration, generator: &generator))
        register("input_layernorm", RMSNorm(dimensions: configuration.hiddenSize, epsilon: epsilon))
        register("post_attention_layernorm", RMSNorm(dimensions: configuration.hiddenSize, epsilon: epsilon))
    }

    /// x: [B, T, C] -> [B, T, C]
    func callAsFunction(_ x: Tensor, positions: [Int], mask: Tensor?, cache: KeyValueCache?, layerIndex: Int) -> Tensor {
        let attention = child("self_attn", as: LlamaAttention.self)
        let attended = x + attention(layer("input_layernorm")(x), positions: positions, mask: mask, cache: cache,
                                     layerIndex: layerIndex)
        return attended + layer("mlp")(layer("post_attention_layernorm")(attended))
    }
}

/// A LLaMA-family causal language model with Hugging Face's `LlamaForCausalLM` paths:
/// `model.embed_tokens`, `model.layers.N.self_attn.{q,k,v,o}_proj`,
/// `model.layers.N.mlp.{gate,up,down}_proj`, `model.layers.N.{input,post_attention}_layernorm`,
/// `model.norm` and `lm_head` (absent when tied: the head then reuses
/// `model.embed_tokens.weight`).
///
/// ```swift
/// let model = try LlamaModel.load(from: folder)            // config.json + model.safetensors
/// let logits = model(ids: [1, 450, 7483], batchSize: 1)    // [1, 3, V]
/// ```
public final class LlamaModel: Module, CausalLanguageModel {
    public let configuration: LlamaConfiguration

    public init(configuration: LlamaConfiguration, generator: inout RandomGenerator) {
        self.configuration = configuration
        super.init()
        let (c, v) = (configuration.hiddenSize, configuration.vocabularySize)
        let decoder = Module()
        decoder.register("embed_tokens", Embedding(count: v, dimensions: c, generator: &generator))
        let layers = Module()
        for index in 0..<configuration.hiddenLayerCount { layers.register(String(index), LlamaDecoderLayer(configuration, generator: &generator)) }
        decoder.register("layers", layers)
        decoder.register("norm", RMSNorm(dimensions: c, epsilon: Float(configuration.rmsNormEpsilon)))
        register("model", decoder)
        if !configuration.tieWordEmbeddings {
            register("lm_head", Linear(inputDimensions: c, outputDimensions: v, bias: false, generator: &generator))
        }
    }

    public convenience init(configuration: LlamaConfiguration, seed: UInt64 = 0) {
        var generator = RandomGenerator(seed: seed)
        self.init(configuration: configuration, generator: &generator)
    }

    public var vocabularySize: Int { configuration.vocabularySize }
    public var layerCount: Int { configuration.hiddenLayerCount }

    /// ids: [B, T] row-major -> [B, T, C] after `model.norm`
    public func hiddenStates(ids: [Int], batchSize: Int, attentionMask: [Int]? = nil,
                             cache: KeyValueCache? = nil) -> Tensor {
        let (tokens, past, mask) = decoderInputs(ids: ids, batchSize: batchSize, attentionMask: attentionMask, cache: cache)
        let decoder = child("model")!
        var hidden = decoder.child("embed_tokens", as: Embedding.self)(ids, shape: [batchSize, tokens])   // [B, T, C]
        let positions = Array(past..<(past + tokens))
        let layers = decoder.child("layers")!
        for (index, name) in layers.childNames.enumerated() {
            hidden = layers.child(name, as: LlamaDecoderLayer.self)(hidden, positions: positions, mask: mask, cache: cache,
                                                                    layerIndex: index)
        }
        return decoder.layer("norm")(hidden)
    }

    /// hidden: [..., C] -> [..., V]
    public func logits(fromHiddenStates hidden: Tensor) -> Tensor {
        if child("lm_head") != nil { return layer("lm_head")(hidden) }
        return matmul(hidden, child("model")!.child("embed_tokens", as: Embedding.self).weight.transposed())
    }
}
