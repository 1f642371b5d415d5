import Foundation
import Testing
import Formats
import NN
import TensorCore
import TestSupport
@testable import Models

/// Tiny random LLaMA models (grouped-query attention, tied and untied heads) against
/// transformers (scripts/fixtures/decoders.py).
@Suite struct LlamaTests {
    func model(_ name: String) throws -> LlamaModel {
        let model = try LlamaModel.load(from: fixtureURL(name))
        model.setTraining(false)
        return model
    }

    @Test(arguments: ["llama-tiny", "llama-tiny-tied"])
    func logitsAndLossMatchTransformersOnAPaddedBatch(name: String) throws {
        let model = try model(name)
        let reference = DecoderReference.batch(name)
        let logits = Tensor.withoutGradient { model(ids: reference.ids, batchSize: reference.batchSize, attentionMask: reference.mask) }
        let difference = DecoderReference.maskedDifference(logits, reference.logits, mask: reference.mask)
        #expect(difference < 1e-4, "max abs logit difference \(difference)")
        let labels = causalLanguageModelLabels(ids: reference.ids, batchSize: reference.batchSize, attentionMask: reference.mask)
        let loss = causalLanguageModelLoss(logits: logits, labels: labels).item
        #expect(abs(loss - reference.loss) < 1e-5, "loss \(loss) vs transformers \(reference.loss)")
    }

    @Test func configurationReadsTransformersFiveAndFourLayouts() throws {
        let configuration = try LlamaConfiguration.load(from: fixtureURL("llama-tiny"))
        #expect(configuration.keyValueHeadCount == 2 && configuration.headDimension == 8)
        #expect(configuration.ropeTheta == 10000 && !configuration.tieWordEmbeddings)
        let legacy = #"{"vocab_size": 10, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1,"# +
            #""num_attention_heads": 2, "rope_theta": 500000.0, "eos_token_id": [2, 7], "tie_word_embeddings": true}"#
        let decoded = try JSONDecoder().decode(LlamaConfiguration.self, from: Data(legacy.utf8))
        #expect(decoded.ropeTheta == 500000 && decoded.eosTokenIDs == [2, 7] && decoded.keyValueHeadCount == 2)
        let roundTrip = try JSONDecoder().decode(LlamaConfiguration.self, from: JSONEncoder().encode(decoded))
        #expect(roundTrip == decoded)
    }

    @Test func parameterPathsFollowHuggingFace() throws {
        let tied = try model("llama-tiny-tied"), untied = try model("llama-tiny")
        let paths = Set(untied.namedParameters().map(\.path))
        #expect(paths.contains("model.layers.1.self_attn.k_proj.weight"))
        #expect(paths.contains("model.layers.0.mlp.gate_proj.weight"))
        #expect(paths.contains("lm_head.weight"))
        #expect(!tied.namedParameters().contains { $0.path == "lm_head.weight" })
    }

    /// Decoding through the key/value cache, in chunks and one token at a time, gives the
    /// logits of one pass over the whole sequence.
    @Test func cachedDecodingMatchesTheFullSequence() throws {
        let model = try model("llama-tiny")
        let ids = [5, 17, 3, 99, 42, 8, 61, 23, 0, 77]
        let full = Tensor.withoutGradient { model(ids: ids, batchSize: 1) }
        for chunks in [[4, 1, 1, 1, 3], Array(repeating: 1, count: 10)] {
            let stepwise = incrementalLogits(model, ids: ids, chunks: chunks)
            #expect(maxAbsoluteDifference(stepwise, full) < 1e-5, "chunks \(chunks)")
        }
    }

    /// llama.cpp's tensor names and Q/K row order (as convert_hf_to_gguf.py writes them) load
    /// back to the same model.
    @Test func ggufNamesAndRotaryPermutationRoundTrip() throws {
        let original = try model("llama-tiny")
        let configuration = original.configuration
        var gguf: [String: Tensor] = [
            "token_embd.weight": original.parameter(path: "model.embed_tokens.weight"),
            "output_norm.weight": original.parameter(path: "model.norm.weight"),
            "output.weight": original.parameter(path: "lm_head.weight"),
        ]
        let names = ["attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
                     "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
                     "ffn_down": "mlp.down_proj", "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm"]
        for layer in 0..<configuration.hiddenLayerCount {
            for (ggufName, path) in names {
                var weight = original.parameter(path: "model.layers.\(layer).\(path).weight")
                // convert_hf_to_gguf.py: w.reshape(heads, 2, D/2, C).swapaxes(1, 2).reshape(w.shape)
                let heads = ggufName == "attn_q" ? configuration.attentionHeadCount
                    : ggufName == "attn_k" ? configuration.keyValueHeadCount : 0
                if heads > 0 {
                    weight = weight.reshaped([heads, 2, weight.shape[0] / heads / 2, weight.shape[1]])
                        .transposed(1, 2).reshaped(weight.shape)
                }
                gguf["blk.\(layer).\(ggufName).weight"] = weight
            }
        }
        let loaded = try LlamaModel.load(configuration: configuration, file: "test.gguf") { gguf[$0] }
        let ids = [3, 14, 15, 92, 65]
        let expected = Tensor.withoutGradient { original(ids: ids) }
        #expect(maxAbsoluteDifference(Tensor.withoutGradient { loaded(ids: ids) }, expected) == 0)
        #expect(throws: DecoderLoadingError.missingTensor(file: "test.gguf", name: "output.weight")) {
            try LlamaModel.load(configuration: configuration, file: "test.gguf") { $0 == "output.weight" ? nil : gguf[$0] }
        }
    }

    @Test func ggufMetadataGivesTheConfiguration() throws {
        let metadata: [String: Double] = [
            "llama.block_count": 30, "llama.embedding_length": 576, "llama.feed_forward_length": 1536,
            "llama.attention.head_count": 9, "llama.attention.head_count_kv": 3, "llama.rope.freq_base": 100000,
            "llama.attention.layer_norm_rms_epsilon": Double(Float(1e-5)), "llama.context_length": 8192,
            "tokenizer.ggml.bos_token_id": 1, "tokenizer.ggml.eos_token_id": 2,
        ]
        let configuration = try LlamaConfiguration.fromGGUF(file: "smol.gguf", vocabularySize: 49152,
                                                            tieWordEmbeddings: true) { metadata[$0] }
        #expect(configuration == LlamaConfiguration(
            vocabularySize: 49152, hiddenSize: 576, intermediateSize: 1536, hiddenLayerCount: 30, attentionHeadCount: 9,
            keyValueHeadCount: 3, rmsNormEpsilon: Double(Float(1e-5)), ropeTheta: 100000, maximumPositionCount: 8192,
            tieWordEmbeddings: true, bosTokenID: 1, eosTokenIDs: [2]))
        #expect(throws: DecoderLoadingError.missingMetadata(file: "smol.gguf", key: "llama.block_count")) {
            try LlamaConfiguration.fromGGUF(file: "smol.gguf", vocabularySize: 10, tieWordEmbeddings: true) {
                $0 == "llama.block_count" ? nil : metadata[$0]
            }
        }
    }

    /// The causal-LM loss gradient of every parameter (tied head included) against central
    /// finite differences.
    @Test(arguments: [false, true])
    func lossGradientMatchesFiniteDifferences(tied: Bool) {
        let configuration = LlamaConfiguration(vocabularySize: 11, hiddenSize: 8, intermediateSize: 12, hiddenLayerCount: 2,
                                               attentionHeadCount: 2, keyValueHeadCount: 1, tieWordEmbeddings: tied)
        let model = LlamaModel(configuration: configuration, seed: 5)
        let ids = [1, 4, 9, 2, 7, 3, 10, 5, 6, 0]
        let mask = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]
        let labels = causalLanguageModelLabels(ids: ids, batchSize: 2, attentionMask: mask, promptLengths: [2, 1])
        let failures = finiteDifferenceFailures(model) {
            causalLanguageModelLoss(logits: model(ids: ids, batchSize: 2, attentionMask: mask), labels: labels)
        }
        #expect(failures.isEmpty, "\(failures)")
    }
}

extension Module {
    /// The parameter at a dotted path.
    func parameter(path: String) -> Tensor {
        namedParameters().first { $0.path == path }!.tensor
    }
}
