import Foundation
import NN
import TensorCore

// Shapes: B batch, T new tokens, P past tokens, n virtual tokens, C hidden (n_embd), H heads, D = C / H,
// V vocabulary.

/// GPT-2 self-attention: the fused projection `c_attn` [C, 3C] and the output `c_proj`.
/// Dropout on the attention probabilities (`attn_pdrop`) is not applied: the fused attention
/// kernel has no dropout.
final class GPT2Attention: Module {
    let headCount: Int

    init(_ configuration: GPT2Configuration, generator: inout RandomGenerator) {
        headCount = configuration.headCount
        super.init()
        let c = configuration.hiddenSize
        register("c_attn", Conv1D(inputDimensions: c, outputDimensions: 3 * c, generator: &generator))
        register("c_proj", Conv1D(inputDimensions: c, outputDimensions: c, generator: &generator))
        register("resid_dropout", Dropout(probability: Float(configuration.residualDropoutProbability)))
    }

    /// x: [B, T, C], mask: [B, 1, 1, P + n + T] additive, prefix: prefix tuning's keys and values
    /// [B, H, n, D] -> [B, T, C]
    func callAsFunction(_ x: Tensor, mask: Tensor?, prefix: (key: Tensor, value: Tensor)?, cache: KeyValueCache?,
                        layerIndex: Int) -> Tensor {
        let (b, t, c) = (x.shape[0], x.shape[1], x.shape[2])
        let parts = layer("c_attn")(x).split(count: 3, axis: -1).map {   // 3 × [B, H, T, D]
            $0.reshaped([b, t, headCount, c / headCount]).permuted([0, 2, 1, 3])
        }
        var (key, value) = prependingPrefix(prefix, key: parts[1], value: parts[2])   // [B, H, n + T, D]
        if let cache { (key, value) = cache.append(layer: layerIndex, keys: key, values: value) }
        let context = scaledDotProductAttention(query: parts[0], key: key, value: value, mask: mask, isCausal: true)
        return layer("resid_dropout")(layer("c_proj")(context.permuted([0, 2, 1, 3]).reshaped([b, t, c])))
    }
}

/// GPT-2's feed-forward block: `c_fc` [C, 4C], the activation, `c_proj` [4C, C], dropout.
final class GPT2MLP: Module, UnaryLayer {
    let activation: Activation.Kind

    init(_ configuration: GPT2Configuration, generator: inout RandomGenerator) {
        activation = Activation.Kind(huggingFaceName: configuration.activationFunction) ?? .geluTanh
        super.init()
        let (c, inner) = (configuration.hiddenSize, configuration.innerSize ?? 4 * configuration.hiddenSize)
        register("c_fc", Conv1D(inputDimensions: c, outputDimensions: inner, generator: &generator))
        register("c_proj", Conv1D(inputDimensions: inner, outputDimensions: c, generator: &generator))
        register("dropout", Dropout(probability: Float(configuration.residualDropoutProbability)))
    }

    /// x: [B, T, C] -> [B, T, C]
    func callAsFunction(_ x: Tensor) -> Tensor {
        layer("dropout")(layer("c_proj")(Activation.apply(activation, layer("c_fc")(x))))
    }
}

/// One pre-norm GPT-2 block: `ln_1`, `attn`, `ln_2`, `mlp`.
final class GPT2Block: Module {
    init(_ configuration: GPT2Configuration, generator: inout RandomGenerator) {
        super.init()
        let (c, epsilon) = (configuration.hiddenSize, Float(configuration.layerNormEpsilon))
        register("ln_1", LayerNorm(dimensions: c, epsilon: epsilon))
        register("attn", GPT2Attention(configuration, generator: &generator))
        register("ln_2", LayerNorm(dimensions: c, epsilon: epsilon))
        register("mlp", GPT2MLP(configuration, generator: &generator))
    }

    /// x: [B, T, C], prefix: [B, H, n, D] keys and values -> [B, T, C]
    func callAsFunction(_ x: Tensor, mask: Tensor?, prefix: (key: Tensor, value: Tensor)?, cache: KeyValueCache?,
                        layerIndex: Int) -> Tensor {
        let attention = child("attn", as: GPT2Attention.self)
        let attended = x + attention(layer("ln_1")(x), mask: mask, prefix: prefix, cache: cache, layerIndex: layerIndex)
        return attended + layer("mlp")(layer("ln_2")(attended))
    }
}

/// GPT-2 as transformers' `GPT2LMHeadModel`: `transformer.wte`, `transformer.wpe`,
/// `transformer.h.N.{ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.c_fc, mlp.c_proj}`,
/// `transformer.ln_f`, and the language-model head tied to `transformer.wte.weight`.
///
/// Prompt and prefix tuning attach a `prompt_encoder` child (see `CausalLanguageModel` for
/// how the virtual tokens enter); learned positions count the virtual tokens.
///
/// ```swift
/// let model = try GPT2Model.load(from: folder)           // config.json + model.safetensors
/// let logits = model(ids: [464, 3139, 286], batchSize: 1) // [1, 3, V]
/// ```
public final class GPT2Model: Module, CausalLanguageModel, VirtualTokenHost {
    public let configuration: GPT2Configuration

    public init(configuration: GPT2Configuration, generator: inout RandomGenerator) {
        self.configuration = configuration
        super.init()
        let c = configuration.hiddenSize
        let transformer = Module()
        let tokens = Embedding(count: configuration.vocabularySize, dimensions: c, generator: &generator)
        let positions = Embedding(count: configuration.maximumPositionCount, dimensions: c, generator: &generator)
        // transformers draws both tables from N(0, 0.02²).
        tokens.replaceTensor(at: "weight", with: tokens.weight * 0.02)
        positions.replaceTensor(at: "weight", with: positions.weight * 0.02)
        transformer.register("wte", tokens)
        transformer.register("wpe", positions)
        transformer.register("drop", Dropout(probability: Float(configuration.embeddingDropoutProbability)))
        let blocks = Module()
        for index in 0..<configuration.layerCount { blocks.register(String(index), GPT2Block(configuration, generator: &generator)) }
        transformer.register("h", blocks)
        transformer.register("ln_f", LayerNorm(dimensions: c, epsilon: Float(configuration.layerNormEpsilon)))
        register("transformer", transformer)
    }

    public convenience init(configuration: GPT2Configuration, seed: UInt64 = 0) {
        var generator = RandomGenerator(seed: seed)
        self.init(configuration: configuration, generator: &generator)
    }

    public var vocabularySize: Int { configuration.vocabularySize }
    public var layerCount: Int { configuration.layerCount }

    public var promptGeometry: PromptGeometry {
        PromptGeometry(tokenDimensions: configuration.hiddenSize, layerCount: configuration.layerCount,
                       attentionHeadCount: configuration.headCount)
    }

    /// `transformer.wte.weight` [V, C] (the base table when LoRA wraps it).
    public var wordEmbeddingTable: Tensor? {
        let table = module(at: "transformer.wte")
        return table?.optionalParameter("weight") ?? table?.child("base_layer")?.optionalParameter("weight")
    }

    /// ids: [B, T] row-major -> [B, T, C] after `ln_f` (real tokens only)
    public func hiddenStates(ids: [Int], batchSize: Int, attentionMask: [Int]? = nil,
                             cache: KeyValueCache? = nil) -> Tensor {
        let step = DecoderStep(host: self, ids: ids, batchSize: batchSize, attentionMask: attentionMask, cache: cache)
        let last = step.positions.last!
        precondition(last < configuration.maximumPositionCount,
                     "GPT2Model: position \(last) is beyond n_positions \(configuration.maximumPositionCount)")
        let transformer = child("transformer")!
        let words = transformer.tokenEmbedding("wte").callAsFunction(ids, shape: [batchSize, step.tokens])   // [B, T, C]
        let positions = transformer.tokenEmbedding("wpe").callAsFunction(step.positions, shape: [1, step.positions.count])   // [1, n + T, C]
        var hidden = transformer.layer("drop")(step.prependingPrompt(to: words) + positions)   // [B, n + T, C]
        let blocks = transformer.child("h")!
        for (index, name) in blocks.childNames.enumerated() {
            hidden = blocks.child(name, as: GPT2Block.self)(hidden, mask: step.mask, prefix: step.prefix(layerIndex: index),
                                                            cache: cache, layerIndex: index)
        }
        return transformer.layer("ln_f")(step.realTokens(hidden))
    }

    /// hidden: [..., C] -> [..., V] through the tied token table.
    public func logits(fromHiddenStates hidden: Tensor) -> Tensor {
        matmul(hidden, wordEmbeddingTable!.transposed())
    }

    /// Loads `config.json` and `model.safetensors` from a Hugging Face folder. Keys of a bare
    /// `GPT2Model` (without the `transformer.` prefix) are accepted, and the causal-mask
    /// buffers (`attn.bias`, `attn.masked_bias`) and a redundant `lm_head.weight` are skipped.
    public static func load(from folder: URL) throws -> GPT2Model {
        let model = GPT2Model(configuration: try GPT2Configuration.load(from: folder))
        var weights: [String: Tensor] = [:]
        for (name, tensor) in try huggingFaceWeights(in: folder) {
            if name == "lm_head.weight" || name.hasSuffix(".attn.bias") || name.hasSuffix(".attn.masked_bias") { continue }
            weights[name.hasPrefix("transformer.") ? name : "transformer." + name] = tensor
        }
        try model.load(stateDict: weights)
        return model
    }
}
