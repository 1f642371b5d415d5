import Foundation
import Testing
import TestSupport
@testable import Formats

@Suite struct BertConfigurationTests {
    /// all-MiniLM-L6-v2's config.json as shipped (written by transformers 4.8.2).
    static let miniLM = """
    {
      "_name_or_path": "nreimers/MiniLM-L6-H384-uncased",
      "architectures": ["BertModel"],
      "attention_probs_dropout_prob": 0.1,
      "gradient_checkpointing": false,
      "hidden_act": "gelu",
      "hidden_dropout_prob": 0.1,
      "hidden_size": 384,
      "initializer_range": 0.02,
      "intermediate_size": 1536,
      "layer_norm_eps": 1e-12,
      "max_position_embeddings": 512,
      "model_type": "bert",
      "num_attention_heads": 12,
      "num_hidden_layers": 6,
      "pad_token_id": 0,
      "position_embedding_type": "absolute",
      "transformers_version": "4.8.2",
      "type_vocab_size": 2,
      "use_cache": true,
      "vocab_size": 30522
    }
    """

    /// A folder holding `config.json` with `text`.
    func folder(with text: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try text.write(to: folder.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        return folder
    }

    /// `miniLM` with `key` removed (nil) or set to the JSON text `json`.
    func miniLM(setting key: String, to json: String?) throws -> String {
        var object = try #require(try JSONSerialization.jsonObject(with: Data(Self.miniLM.utf8)) as? [String: Any])
        object[key] = try json.map { try JSONSerialization.jsonObject(with: Data($0.utf8), options: .fragmentsAllowed) }
        return String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    @Test func loadsMiniLMConfiguration() throws {
        let config = try BertConfiguration.load(from: folder(with: Self.miniLM))
        #expect(config == BertConfiguration(
            vocabularySize: 30522, hiddenSize: 384, hiddenLayerCount: 6, attentionHeadCount: 12,
            intermediateSize: 1536, architectures: ["BertModel"]))
        #expect(config.labelCount == nil)
    }

    /// Google's original BERT configs lack layer_norm_eps, pad_token_id and model_type, and
    /// transformers 5 writes null for unset optional keys.
    @Test func missingOptionalKeysTakeTransformersDefaults() throws {
        let text = """
        {"hidden_size": 128, "hidden_act": "gelu", "initializer_range": 0.02, "vocab_size": 30522,
         "hidden_dropout_prob": 0.1, "num_attention_heads": 2, "type_vocab_size": 2,
         "max_position_embeddings": 512, "num_hidden_layers": 2, "intermediate_size": 512,
         "attention_probs_dropout_prob": 0.1, "architectures": null, "classifier_dropout": null,
         "problem_type": null}
        """
        let config = try BertConfiguration.load(from: folder(with: text))
        #expect(config.layerNormEpsilon == 1e-12)
        #expect(config.padTokenID == 0)
        #expect(config.modelType == "bert")
        #expect(config.positionEmbeddingType == "absolute")
        #expect(config.architectures == nil && config.classifierDropoutProbability == nil)
    }

    @Test func labelsDecodeAndRoundTrip() throws {
        let text = try miniLM(setting: "id2label", to: #"{"0": "rotten", "1": "fresh"}"#)
        var config = try BertConfiguration.load(from: folder(with: text))
        #expect(config.idToLabel == [0: "rotten", 1: "fresh"])
        #expect(config.labelCount == 2)
        config.labelToID = ["rotten": 0, "fresh": 1]
        config.problemType = "single_label_classification"
        let encoded = try JSONEncoder().encode(config)
        let object = try #require(try JSONSerialization.jsonObject(with: encoded) as? [String: Any])
        #expect(object["num_labels"] == nil)
        #expect(object["id2label"] as? [String: String] == ["0": "rotten", "1": "fresh"])
        #expect(object["hidden_size"] as? Int == 384)
        #expect(try JSONDecoder().decode(BertConfiguration.self, from: encoded) == config)

        let counted = try BertConfiguration.load(from: folder(with: miniLM(setting: "num_labels", to: "3")))
        #expect(counted.labelCount == 3)
        let recounted = try JSONDecoder().decode(BertConfiguration.self, from: JSONEncoder().encode(counted))
        #expect(recounted.labelCount == 3)
    }

    @Test(arguments: ["vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                      "intermediate_size", "max_position_embeddings", "type_vocab_size"])
    func missingRequiredKeyNamesFileAndKey(key: String) throws {
        let folder = try folder(with: miniLM(setting: key, to: nil))
        let file = folder.appendingPathComponent("config.json").path
        #expect(throws: JSONFileError.missingKey(file: file, key: key)) { try BertConfiguration.load(from: folder) }
    }

    @Test func wrongTypeNamesKey() throws {
        let folder = try folder(with: miniLM(setting: "hidden_size", to: #""big""#))
        let file = folder.appendingPathComponent("config.json").path
        #expect(throws: JSONFileError.wrongType(file: file, key: "hidden_size", expected: "Int")) {
            try BertConfiguration.load(from: folder)
        }
    }

    @Test func headCountMustDivideHiddenSize() throws {
        let folder = try folder(with: miniLM(setting: "num_attention_heads", to: "5"))
        let file = folder.appendingPathComponent("config.json").path
        let expected = BertConfigurationError.headCountDoesNotDivideHiddenSize(file: file, hiddenSize: 384, attentionHeadCount: 5)
        #expect(throws: expected) { try BertConfiguration.load(from: folder) }
        #expect(expected.description.contains("hidden_size") && expected.description.contains("num_attention_heads"))
    }

    @Test(arguments: [("num_attention_heads", "0"), ("vocab_size", "-1"), ("layer_norm_eps", "0.0"),
                      ("hidden_dropout_prob", "1.5"), ("pad_token_id", "40000"), ("num_labels", "0")])
    func impossibleValuesNameTheKey(key: String, value: String) throws {
        let folder = try folder(with: miniLM(setting: key, to: value))
        do {
            _ = try BertConfiguration.load(from: folder)
            Issue.record("\(key) = \(value) was accepted")
        } catch let BertConfigurationError.invalidValue(file, failingKey, _, _) {
            #expect(failingKey == key)
            #expect(file.hasSuffix("config.json"))
        }
    }

    @Test func loadsRealMiniLMFolder() throws {
        guard let url = try assetURL("all-MiniLM-L6-v2/config.json") else { return }
        let config = try BertConfiguration.load(from: url.deletingLastPathComponent())
        #expect(config.hiddenSize == 384 && config.hiddenLayerCount == 6 && config.vocabularySize == 30522)
    }
}
