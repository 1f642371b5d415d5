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

    /// x: [B, T, C], prefix: [B, K, n, D] keys and values -> [B, T, C]
    func callAsFunction(_ x: Tensor, positions: [Int], mask: Tensor?, prefix: (key: Tensor, value: Tensor)?,
                        cache: KeyValueCache?, layerIndex: Int) -> Tensor {
        let attention = child("self_attn", as: LlamaAttention.self)
        let attended = x + attention(layer("input_layernorm")(x), positions: positions, mask: mask, prefix: prefix,
                                     cache: cache, layerIndex: layerIndex)
        return attended + layer("mlp")(layer("post_attention_layernorm")(attended))
    }
}

/// A LLaMA-family causal language model with Hugging Face's `LlamaForCausalLM` paths:
/// `model.embed_tokens`, `model.layers.N.self_attn.{q,k,v,o}_proj`,
/// `model.layers.N.mlp.{gate,up,down}_proj`, `model.layers.N.{input,post_attention}_layernorm`,
/// `model.norm` and `lm_head` (absent when tied: the head then reuses
/// `model.embed_tokens.weight`).
///
/// Prompt and prefix tuning attach a `prompt_encoder` child (see `CausalLanguageModel` for
/// how the virtual tokens enter).
///
/// ```swift
/// let model = try LlamaModel.load(from: folder)            // config.json + model.safetensors
/// let logits = model(ids: [1, 450, 7483], batchSize: 1)    // [1, 3, V]
/// ```
public final class LlamaModel: Module, CausalLanguageModel, VirtualTokenHost {
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

    public var promptGeometry: PromptGeometry {
        PromptGeometry(tokenDimensions: configuration.hiddenSize, layerCount: configuration.hiddenLayerCount,
                       attentionHeadCount: configuration.attentionHeadCount)
    }

    /// Keys and values of the key/value heads: D · K wide, K heads (PEFT's resolution for
    /// models with `num_key_value_heads`).
    public var prefixGeometry: PromptGeometry {
        PromptGeometry(tokenDimensions: configuration.headDimension * configuration.keyValueHeadCount,
                       layerCount: configuration.hiddenLayerCount, attentionHeadCount: configuration.keyValueHeadCount)
    }

    /// `model.embed_tokens.weight` [V, C] (the base table when LoRA wraps it).
    public var wordEmbeddingTable: Tensor? {
        let table = module(at: "model.embed_tokens")
        return table?.optionalParameter("weight") ?? table?.child("base_layer")?.optionalParameter("weight")
    }

    /// ids: [B, T] row-major -> [B, T, C] after `model.norm` (real tokens only)
    public func hiddenStates(ids: [Int], batchSize: Int, attentionMask: [Int]? = nil,
                             cache: KeyValueCache? = nil) -> Tensor {
        let step = DecoderStep(host: self, ids: ids, batchSize: batchSize, attentionMask: attentionMask, cache: cache)
        let decoder = child("model")!
        let words = decoder.tokenEmbedding("embed_tokens").callAsFunction(ids, shape: [batchSize, step.tokens])   // [B, T, C]
        var hidden = step.prependingPrompt(to: words)   // [B, n + T, C] with prompt tuning
        let layers = decoder.child("layers")!
        for (index, name) in layers.childNames.enumerated() {
            hidden = layers.child(name, as: LlamaDecoderLayer.self)(hidden, positions: step.positions, mask: step.mask,
                                                                    prefix: step.prefix(layerIndex: index), cache: cache,
                                                                    layerIndex: index)
        }
        return decoder.layer("norm")(step.realTokens(hidden))
    }

    /// hidden: [..., C] -> [..., V]
    public func logits(fromHiddenStates hidden: Tensor) -> Tensor {
        if child("lm_head") != nil { return layer("lm_head")(hidden) }
        return matmul(hidden, wordEmbeddingTable!.transposed())
    }
}
