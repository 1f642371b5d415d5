import Foundation
import Formats

/// A GPT-2 model's `config.json`, with Hugging Face's key names on disk and full words in
/// Swift. The sizes are required; the rest falls back to `transformers.GPT2Config`'s defaults.
///
/// ```swift
/// let config = try GPT2Configuration.load(from: folder)   // folder/config.json
/// print(config.hiddenSize / config.headCount)              // 64 for gpt2
/// ```
public struct GPT2Configuration: Codable, Equatable, Sendable {
    public var vocabularySize: Int
    /// `n_embd`: channels of the residual stream.
    public var hiddenSize: Int
    public var layerCount: Int
    public var headCount: Int
    /// `n_positions`: rows of the learned position table, the longest sequence.
    public var maximumPositionCount: Int
    /// `n_inner`: the feed-forward width; nil means 4 · `hiddenSize`.
    public var innerSize: Int?
    public var layerNormEpsilon: Double
    /// As transformers names it: "gelu_new" (GPT-2's tanh approximation), "gelu", "relu" ...
    public var activationFunction: String
    public var residualDropoutProbability: Double
    public var embeddingDropoutProbability: Double
    public var bosTokenID: Int?
    public var eosTokenID: Int?

    enum CodingKeys: String, CodingKey {
        case vocabularySize = "vocab_size"
        case hiddenSize = "n_embd"
        case layerCount = "n_layer"
        case headCount = "n_head"
        case maximumPositionCount = "n_positions"
        case innerSize = "n_inner"
        case layerNormEpsilon = "layer_norm_epsilon"
        case activationFunction = "activation_function"
        case residualDropoutProbability = "resid_pdrop"
        case embeddingDropoutProbability = "embd_pdrop"
        case bosTokenID = "bos_token_id"
        case eosTokenID = "eos_token_id"
    }

    /// A configuration with transformers' defaults for everything but the sizes.
    ///
    /// ```swift
    /// let tiny = GPT2Configuration(vocabularySize: 100, hiddenSize: 32, layerCount: 2, headCount: 4)
    /// ```
    public init(vocabularySize: Int, hiddenSize: Int, layerCount: Int, headCount: Int,
                maximumPositionCount: Int = 1024, innerSize: Int? = nil, layerNormEpsilon: Double = 1e-5,
                activationFunction: String = "gelu_new", residualDropoutProbability: Double = 0.1,
                embeddingDropoutProbability: Double = 0.1, bosTokenID: Int? = 50256, eosTokenID: Int? = 50256) {
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.maximumPositionCount = maximumPositionCount
        self.innerSize = innerSize
        self.layerNormEpsilon = layerNormEpsilon
        self.activationFunction = activationFunction
        self.residualDropoutProbability = residualDropoutProbability
        self.embeddingDropoutProbability = embeddingDropoutProbability
        self.bosTokenID = bosTokenID
        self.eosTokenID = eosTokenID
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func optional<Value: Decodable>(_ key: CodingKeys) throws -> Value? {
            try container.decodeIfPresent(Value.self, forKey: key)
        }
        self.init(
            vocabularySize: try container.decode(Int.self, forKey: .vocabularySize),
            hiddenSize: try container.decode(Int.self, forKey: .hiddenSize),
            layerCount: try container.decode(Int.self, forKey: .layerCount),
            headCount: try container.decode(Int.self, forKey: .headCount),
            maximumPositionCount: try optional(.maximumPositionCount) ?? 1024,
            innerSize: try optional(.innerSize),
            layerNormEpsilon: try optional(.layerNormEpsilon) ?? 1e-5,
            activationFunction: try optional(.activationFunction) ?? "gelu_new",
            residualDropoutProbability: try optional(.residualDropoutProbability) ?? 0.1,
            embeddingDropoutProbability: try optional(.embeddingDropoutProbability) ?? 0.1,
            bosTokenID: try optional(.bosTokenID),
            eosTokenID: try optional(.eosTokenID))
    }

    /// Reads `config.json` in `folder`.
    public static func load(from folder: URL) throws -> GPT2Configuration {
        try decodeJSONFile(GPT2Configuration.self, from: folder.appendingPathComponent("config.json"))
    }
}
