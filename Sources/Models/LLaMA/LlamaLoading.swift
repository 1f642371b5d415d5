import Foundation
import Formats
import NN
import TensorCore

/// Why a decoder's files do not load.
public enum DecoderLoadingError: Error, CustomStringConvertible, Equatable {
    case missingFile(URL)
    case missingTensor(file: String, name: String)
    case missingMetadata(file: String, key: String)
    case unsupportedArchitecture(file: String, found: String)

    public var description: String {
        switch self {
        case let .missingFile(url): "no model weights at \(url.path) (expected model.safetensors or model.safetensors.index.json)"
        case let .missingTensor(file, name): "\(file): tensor '\(name)' is missing"
        case let .missingMetadata(file, key): "\(file): metadata key '\(key)' is missing"
        case let .unsupportedArchitecture(file, found): "\(file): architecture '\(found)' is not LLaMA-like"
        }
    }
}

extension LlamaModel {
    /// Loads `config.json` and `model.safetensors` (or the shards of
    /// `model.safetensors.index.json`) from a Hugging Face folder. Rotary `inv_freq` buffers
    /// and a tied model's redundant `lm_head.weight` are skipped.
    public static func load(from folder: URL) throws -> LlamaModel {
        let configuration = try LlamaConfiguration.load(from: folder)
        let model = LlamaModel(configuration: configuration)
        var weights = try huggingFaceWeights(in: folder)
        weights = weights.filter { !$0.key.hasSuffix("rotary_emb.inv_freq") }
        if configuration.tieWordEmbeddings { weights["lm_head.weight"] = nil }
        try model.load(stateDict: weights)
        return model
    }

    /// Loads a LLaMA-architecture GGUF file (llama.cpp's format, e.g. SmolLM2's), dequantizing
    /// every tensor to float32 as transformers' `from_pretrained(gguf_file:)` does.
    ///
    /// ```swift
    /// let model = try LlamaModel.load(gguf: folder.appendingPathComponent("SmolLM2-135M-Instruct.Q4_1.gguf"))
    /// ```
    public static func load(gguf url: URL) throws -> LlamaModel {
        try load(gguf: GGUFFile(url: url))
    }

    /// Builds a model from an open GGUF file; see `load(gguf:)` with a URL.
    public static func load(gguf file: GGUFFile) throws -> LlamaModel {
        let name = file.url.lastPathComponent
        let architecture = file.metadata["general.architecture"]?.string ?? "(none)"
        guard ["llama", "mistral"].contains(architecture) else {
            throw DecoderLoadingError.unsupportedArchitecture(file: name, found: architecture)
        }
        guard let table = file.info("token_embd.weight") else {
            throw DecoderLoadingError.missingTensor(file: name, name: "token_embd.weight")
        }
        let configuration = try LlamaConfiguration.fromGGUF(
            file: name, architecture: architecture, vocabularySize: table.shape[0],
            tieWordEmbeddings: file.info("output.weight") == nil) { file.metadata[$0]?.double }
        return try load(configuration: configuration, file: name) { tensorName in
            file.info(tensorName) == nil ? nil : try file.tensor(tensorName)
        }
    }

    /// Builds a model from llama.cpp's tensor names (`token_embd`, `blk.N.attn_q` ...), as
    /// transformers does when it reads a GGUF file: Q and K rows, which llama.cpp stores
    /// permuted for its interleaved rotary layout, are put back in Hugging Face's
    /// `rotate_half` order. `tensor(name)` returns a float32 tensor in PyTorch's row-major
    /// `[out, in]` order, or nil when the file has no such tensor.
    static func load(configuration: LlamaConfiguration, file: String,
                     tensor: (String) throws -> Tensor?) throws -> LlamaModel {
        func required(_ name: String) throws -> Tensor {
            guard let value = try tensor(name) else { throw DecoderLoadingError.missingTensor(file: file, name: name) }
            return value
        }
        var weights: [String: Tensor] = [
            "model.embed_tokens.weight": try required("token_embd.weight"),
            "model.norm.weight": try required("output_norm.weight"),
        ]
        if !configuration.tieWordEmbeddings { weights["lm_head.weight"] = try required("output.weight") }
        let names = [("attn_k", "self_attn.k_proj"), ("attn_v", "self_attn.v_proj"), ("attn_output", "self_attn.o_proj"),
                     ("ffn_gate", "mlp.gate_proj"), ("ffn_up", "mlp.up_proj"), ("ffn_down", "mlp.down_proj"),
                     ("attn_norm", "input_layernorm"), ("ffn_norm", "post_attention_layernorm"), ("attn_q", "self_attn.q_proj")]
        for index in 0..<configuration.hiddenLayerCount {
            for (gguf, huggingFace) in names {
                var weight = try required("blk.\(index).\(gguf).weight")
                if gguf == "attn_q" { weight = unpermutedRotaryRows(weight, heads: configuration.attentionHeadCount) }
                if gguf == "attn_k" { weight = unpermutedRotaryRows(weight, heads: configuration.keyValueHeadCount) }
                weights["model.layers.\(index).\(huggingFace).weight"] = weight
            }
        }
        let model = LlamaModel(configuration: configuration)
        try model.load(stateDict: weights)
        return model
    }
}

extension LlamaConfiguration {
    /// A configuration from GGUF metadata (`llama.block_count`, `llama.embedding_length`,
    /// `llama.attention.head_count` ..., with `architecture` in place of `llama`), with the keys
    /// transformers maps. `value(key)` returns a numeric metadata value; `vocabularySize` comes from the token table and
    /// `tieWordEmbeddings` from the absence of `output.weight`.
    static func fromGGUF(file: String, architecture: String = "llama", vocabularySize: Int, tieWordEmbeddings: Bool,
                         value lookUp: (String) -> Double?) throws -> LlamaConfiguration {
        func value(_ key: String) -> Double? { lookUp(key.replacingOccurrences(of: "llama.", with: architecture + ".")) }
        func required(_ key: String) throws -> Int {
            let fullKey = architecture + "." + key
            guard let number = lookUp(fullKey) else { throw DecoderLoadingError.missingMetadata(file: file, key: fullKey) }
            return Int(number)
        }
        let heads = try required("attention.head_count")
        return LlamaConfiguration(
            vocabularySize: vocabularySize,
            hiddenSize: try required("embedding_length"),
            intermediateSize: try required("feed_forward_length"),
            hiddenLayerCount: try required("block_count"),
            attentionHeadCount: heads,
            keyValueHeadCount: value("llama.attention.head_count_kv").map(Int.init) ?? heads,
            headDimension: value("llama.rope.dimension_count").map(Int.init),
            rmsNormEpsilon: value("llama.attention.layer_norm_rms_epsilon") ?? 1e-6,
            ropeTheta: value("llama.rope.freq_base") ?? 10000,
            maximumPositionCount: value("llama.context_length").map(Int.init) ?? 2048,
            tieWordEmbeddings: tieWordEmbeddings,
            bosTokenID: value("tokenizer.ggml.bos_token_id").map(Int.init),
            eosTokenIDs: value("tokenizer.ggml.eos_token_id").map { [Int($0)] } ?? [])
    }
}

/// Undoes llama.cpp's permutation of Q/K projection rows: per head, GGUF stores the rows of
/// rotary pair i as neighbours (2i, 2i+1) while Hugging Face keeps them half a head apart
/// (i, i + D/2). Viewing the rows as [heads, D/2, 2] and swapping the last two axes restores
/// Hugging Face's [heads, 2, D/2] order (transformers' `_reverse_permute_weights`).
func unpermutedRotaryRows(_ weight: Tensor /* [heads·D, C] */, heads: Int) -> Tensor /* [heads·D, C] */ {
    let rows = weight.shape[0], columns = weight.count / rows
    precondition(rows % (2 * heads) == 0, "unpermutedRotaryRows: \(rows) rows of \(weight.shape) do not split into \(heads) heads of pairs")
    return weight.reshaped([heads, rows / heads / 2, 2, columns]).transposed(1, 2).reshaped(weight.shape)
}

/// Every tensor of a Hugging Face folder: `model.safetensors`, or all shards listed in
/// `model.safetensors.index.json`.
func huggingFaceWeights(in folder: URL) throws -> [String: Tensor] {
    let single = folder.appendingPathComponent("model.safetensors")
    if FileManager.default.fileExists(atPath: single.path) { return try SafetensorsFile(url: single).tensors() }
    struct Index: Decodable { let weightMap: [String: String]
        enum CodingKeys: String, CodingKey { case weightMap = "weight_map" } }
    let indexURL = folder.appendingPathComponent("model.safetensors.index.json")
    guard FileManager.default.fileExists(atPath: indexURL.path) else { throw DecoderLoadingError.missingFile(single) }
    var weights: [String: Tensor] = [:]
    for shard in Set(try decodeJSONFile(Index.self, from: indexURL).weightMap.values).sorted() {
        weights.merge(try SafetensorsFile(url: folder.appendingPathComponent(shard)).tensors()) { first, _ in first }
    }
    return weights
}
